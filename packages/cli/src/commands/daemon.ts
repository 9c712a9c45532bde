/** `tsdocker daemon`: dockerd's flags, run in the foreground (see daemon/run-daemon.ts). */
import type { Command } from 'commander';
import { CliError, ExitStatus, UsageError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import {
  configLoadOptions,
  DaemonFlagError,
  type DaemonFlags,
  DEFAULT_CONFIG_FILE,
} from '../daemon/daemon-options.js';
import { collect } from './options.js';

export function registerDaemonCommand(
  program: Command,
  ctx: CommandContext,
  globalHosts: () => string[],
): void {
  program
    .command('daemon')
    .summary('Run the tsdocker daemon (in the foreground)')
    .description('Run the tsdocker daemon in the foreground; logs go to stderr. SIGTERM or SIGINT stops it.')
    .usage('[OPTIONS]')
    .option('--config-file <path>', 'Daemon configuration file')
    .option('--data-root <path>', 'Root directory of persistent tsdocker state (default "/var/lib/tsdocker")')
    .option('--exec-root <path>', 'Root directory for execution state files (default "/run/tsdocker")')
    .option(
      '-H, --host <list>',
      'Daemon socket(s) to listen on (default "unix:///run/tsdocker.sock")',
      collect,
    )
    .option('-s, --storage-driver <string>', 'Storage driver to use (vfs, overlay2 or a package name)')
    .option('--storage-opt <list>', 'Storage driver options', collect)
    .option('--exec-driver <string>', 'Exec driver to use (default "native")')
    .option('--exec-opt <list>', 'Exec driver options', collect)
    .option('-G, --group <string>', 'Group for the unix socket (default "docker")')
    .option('-D, --debug', 'Enable debug mode')
    .option(
      '-l, --log-level <string>',
      'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")',
    )
    .option('--shutdown-timeout <int>', 'Default shutdown timeout in seconds (default 15)')
    .option('--label <list>', 'Set key=value labels to the daemon', collect)
    .option('--tls [bool]', 'Use TLS; implied by --tlsverify (--tls=false allows plain-text tcp:// hosts)')
    .option('--tlsverify [bool]', 'Use TLS and verify the remote (client certificates signed by --tlscacert)')
    .option('--tlscacert <path>', 'Trust certs signed only by this CA (default "~/.docker/ca.pem")')
    .option('--tlscert <path>', 'Path to TLS certificate file (default "~/.docker/cert.pem")')
    .option('--tlskey <path>', 'Path to TLS key file (default "~/.docker/key.pem")')
    .addHelpText(
      'after',
      `\nThe configuration file defaults to ${DEFAULT_CONFIG_FILE} (it may be missing); flags override its keys.`,
    )
    .action(async (options: Partial<DaemonFlags>) => {
      const flags: DaemonFlags = {
        ...options,
        host: [...globalHosts(), ...(options.host ?? [])],
        storageOpt: options.storageOpt ?? [],
        execOpt: options.execOpt ?? [],
        label: options.label ?? [],
      };
      try {
        configLoadOptions(flags);
      } catch (err) {
        if (err instanceof DaemonFlagError) throw new UsageError(err.message, 'daemon');
        throw err;
      }
      // Loaded here so client commands never pay for pino, core and the API server.
      const { loadDaemonRuntime, runDaemon } = await import('../daemon/run-daemon.js');
      let runtime: Awaited<ReturnType<typeof loadDaemonRuntime>>;
      try {
        runtime = await loadDaemonRuntime();
      } catch (err) {
        throw new CliError(`failed to start daemon: cannot load the daemon: ${(err as Error).message}`);
      }
      const code = await runDaemon(flags, { runtime, stderr: ctx.io.stderr });
      if (code !== 0) throw new ExitStatus(code);
    });
}
