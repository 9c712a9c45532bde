/** The command tree: global options, then one module per command. */
import { Command } from 'commander';
import { registerDaemonCommand } from './commands/daemon.js';
import { registerExecCommand } from './commands/exec.js';
import { registerImagesCommand } from './commands/images.js';
import { registerImportCommand } from './commands/import.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerKillCommand } from './commands/kill.js';
import { registerLoadCommand } from './commands/load.js';
import { registerLogsCommand } from './commands/logs.js';
import { collect } from './commands/options.js';
import { registerPsCommand } from './commands/ps.js';
import { registerRmCommand } from './commands/rm.js';
import { registerRunCommand } from './commands/run.js';
import { registerSaveCommand } from './commands/save.js';
import { registerStartCommand } from './commands/start.js';
import { registerStopCommand } from './commands/stop.js';
import { registerWaitCommand } from './commands/wait.js';
import { type CliIO, type CommandContext, createContext } from './context.js';
import { CLI_VERSION } from './version.js';

export interface Program {
  command: Command;
  context: CommandContext;
  /** The subcommand being run, once known (for `See 'tsdocker run --help'.`). */
  currentCommand(): string | undefined;
}

export function createProgram(io: CliIO, programName = 'tsdocker'): Program {
  const program = new Command(programName);
  let current: string | undefined;
  const hosts = () => program.opts<{ host?: string[] }>().host ?? [];
  const context = createContext(io, programName, hosts);

  program
    .description('A Docker-compatible container engine')
    .usage('[OPTIONS] COMMAND')
    // Global options go before the command, so `run IMAGE -l` passes `-l` to the container.
    .enablePositionalOptions()
    .option(
      '-H, --host <list>',
      'Daemon socket to connect to (default: $TSDOCKER_HOST, $DOCKER_HOST or unix:///run/tsdocker.sock)',
      collect,
    )
    .version(`tsdocker version ${CLI_VERSION}`, '-v, --version', 'Print version information and quit')
    .helpOption('-h, --help', 'Print usage')
    .helpCommand('help [command]', 'Help about any command')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Errors are printed once, in docker's wording, by the caller (see cli.ts).
      outputError: () => {},
    })
    .exitOverride()
    .hook('preSubcommand', (_self, sub) => {
      current = sub.name();
    });

  registerRunCommand(program, context);
  registerExecCommand(program, context);
  registerPsCommand(program, context);
  registerImagesCommand(program, context);
  registerLogsCommand(program, context);
  registerStartCommand(program, context);
  registerStopCommand(program, context);
  registerKillCommand(program, context);
  registerRmCommand(program, context);
  registerWaitCommand(program, context);
  registerInspectCommand(program, context);
  registerImportCommand(program, context);
  registerLoadCommand(program, context);
  registerSaveCommand(program, context);
  registerDaemonCommand(program, context, hosts);

  return { command: program, context, currentCommand: () => current };
}
