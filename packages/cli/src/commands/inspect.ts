/**
 * `tsdocker inspect`: looks each name up as a container, then an image, network, volume and
 * plugin — moving on only after a 404, like docker — and prints the daemon's JSON (indented) or
 * a `-f` template per object. Template support is a subset of Go templates (see format/template).
 */
import type { Command } from 'commander';
import { CliError, UsageError } from '../cli-errors.js';
import { DaemonError } from '../client/errors.js';
import type { EngineClient } from '../client/http-client.js';
import type { CommandContext } from '../context.js';
import { formatInspectJson } from '../format/json.js';
import { type CompiledTemplate, compileTemplate } from '../format/template.js';

interface InspectOptions {
  format?: string;
  size?: boolean;
  type?: string;
}

type ObjectType = 'container' | 'image' | 'network' | 'volume' | 'plugin';

const ENDPOINTS: Record<ObjectType, (name: string) => string> = {
  container: (name) => `/containers/${name}/json`,
  image: (name) => `/images/${name}/json`,
  network: (name) => `/networks/${name}`,
  volume: (name) => `/volumes/${name}`,
  plugin: (name) => `/plugins/${name}/json`,
};
const PROBE_ORDER: readonly ObjectType[] = ['container', 'image', 'network', 'volume', 'plugin'];

/** A lookup that should fall through to the next object type. */
function isMiss(err: unknown): boolean {
  if (!(err instanceof DaemonError)) return false;
  return (
    err.isNotFound ||
    err.message.includes('not supported') ||
    err.message.includes('invalid reference format')
  );
}

async function fetchObject(
  client: EngineClient,
  type: ObjectType,
  name: string,
  size: boolean,
): Promise<unknown> {
  return client.json('GET', ENDPOINTS[type](name), { query: type === 'container' ? { size } : undefined });
}

export function registerInspectCommand(program: Command, ctx: CommandContext): void {
  program
    .command('inspect')
    .summary('Return low-level information on tsdocker objects')
    .description('Return low-level information on tsdocker objects')
    .usage('[OPTIONS] NAME|ID [NAME|ID...]')
    .argument('<names...>')
    .option(
      '-f, --format <string>',
      'Format output using a Go template (a subset: fields, json, index, join, …)',
    )
    .option('-s, --size', 'Display total file sizes if the type is container')
    .option(
      '--type <string>',
      'Only inspect objects of the given type (container, image, network, volume, plugin)',
    )
    .action(async (names: string[], options: InspectOptions) => {
      if (options.type !== undefined && !(options.type in ENDPOINTS)) {
        throw new UsageError(`"${options.type}" is not a valid value for --type`, 'inspect');
      }
      let template: CompiledTemplate | undefined;
      if (options.format !== undefined && options.format !== '') template = compileTemplate(options.format);
      const client = ctx.client();
      const found: unknown[] = [];
      const errors: string[] = [];
      for (const name of names) {
        try {
          found.push(await lookup(client, name, options));
        } catch (err) {
          if (err instanceof CliError || err instanceof DaemonError) errors.push(err.message);
          else throw err;
        }
      }
      if (template) {
        for (const object of found) ctx.io.stdout.write(`${template.render(object)}\n`);
      } else {
        ctx.io.stdout.write(formatInspectJson(found));
      }
      if (errors.length > 0) throw new CliError(errors.join('\n'));
    });
}

async function lookup(client: EngineClient, name: string, options: InspectOptions): Promise<unknown> {
  if (options.type !== undefined)
    return fetchObject(client, options.type as ObjectType, name, options.size === true);
  for (const type of PROBE_ORDER) {
    try {
      return await fetchObject(client, type, name, options.size === true);
    } catch (err) {
      if (!isMiss(err)) throw err;
    }
  }
  throw new CliError(`Error: No such object: ${name}`);
}
