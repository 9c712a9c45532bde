/** `tsdocker ps`: `GET /containers/json` shown as docker's table (or IDs with `-q`). */
import type { Command } from 'commander';
import { UsageError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import { displayablePorts, type PortSummary } from '../format/ports.js';
import { humanSize } from '../format/size.js';
import { renderTable } from '../format/table.js';
import { ellipsis, goQuote } from '../format/text.js';
import { timeAgo } from '../format/time.js';
import { encodeFilters, FilterParseError, parseFilterFlags } from '../options/filters.js';
import { familiarName, parseReference, truncateId } from '../reference.js';
import { collect } from './options.js';

export interface ContainerSummary {
  Id: string;
  Names?: string[] | null;
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created?: number;
  Ports?: PortSummary[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  State?: string;
  Status?: string;
}

interface PsOptions {
  all?: boolean;
  quiet?: boolean;
  trunc: boolean;
  last?: string;
  latest?: boolean;
  filter?: string[];
  size?: boolean;
}

export interface ContainerTableOptions {
  trunc: boolean;
  size: boolean;
  now?: number;
}

/** docker's IMAGE column: a short ID when the image was given by ID, else the familiar name without digest. */
function imageColumn(c: ContainerSummary, trunc: boolean): string {
  const image = c.Image ?? '';
  if (image === '') return '<no image>';
  if (!trunc) return image;
  if (c.ImageID && truncateId(c.ImageID) === truncateId(image)) return truncateId(image);
  if (image.startsWith('sha256:')) return image;
  // The familiar form with the tag kept and any digest dropped.
  const ref = parseReference(image);
  return `${familiarName(ref)}${ref.tag ? `:${ref.tag}` : ''}`;
}

function namesColumn(names: readonly string[] | null | undefined, trunc: boolean): string {
  const stripped = (names ?? []).map((n) => (n.startsWith('/') ? n.slice(1) : n));
  // Truncated output shows one name: the first that is not a legacy link (`/other/alias`).
  if (trunc) return stripped.find((n) => !n.includes('/')) ?? '';
  return stripped.join(',');
}

function sizeColumn(c: ContainerSummary): string {
  const rw = humanSize(c.SizeRw ?? 0);
  return (c.SizeRootFs ?? 0) > 0 ? `${rw} (virtual ${humanSize(c.SizeRootFs ?? 0)})` : rw;
}

/** The `ps` table exactly as docker draws it. */
export function formatContainerTable(
  containers: readonly ContainerSummary[],
  options: ContainerTableOptions,
): string {
  const header = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];
  if (options.size) header.push('SIZE');
  const rows = containers.map((c) => {
    const row = [
      options.trunc ? truncateId(c.Id) : c.Id,
      imageColumn(c, options.trunc),
      goQuote(options.trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '')),
      timeAgo(c.Created ?? 0, options.now),
      c.Status ?? '',
      displayablePorts(c.Ports),
      namesColumn(c.Names, options.trunc),
    ];
    if (options.size) row.push(sizeColumn(c));
    return row;
  });
  return renderTable([header, ...rows]);
}

export function registerPsCommand(program: Command, ctx: CommandContext): void {
  program
    .command('ps')
    .summary('List containers')
    .description('List containers')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-q, --quiet', 'Only display container IDs')
    .option('--no-trunc', "Don't truncate output")
    .option('-n, --last <int>', 'Show n last created containers (includes all states)')
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('-s, --size', 'Display total file sizes')
    .action(async (options: PsOptions) => {
      let limit: number | undefined;
      if (options.last !== undefined) {
        if (!/^-?\d+$/.test(options.last)) {
          throw new UsageError(
            `invalid argument "${options.last}" for "-n, --last" flag: strconv.ParseInt: parsing "${options.last}": invalid syntax`,
            'ps',
          );
        }
        limit = Number(options.last);
      }
      if (options.latest && (limit === undefined || limit === -1)) limit = 1;
      let filters: string | undefined;
      try {
        filters = encodeFilters(parseFilterFlags(options.filter ?? []));
      } catch (err) {
        if (err instanceof FilterParseError)
          throw new UsageError(`invalid argument for "-f, --filter" flag: ${err.message}`, 'ps');
        throw err;
      }
      const containers = await ctx.client().json<ContainerSummary[]>('GET', '/containers/json', {
        query: {
          all: options.all === true,
          filters,
          limit: limit !== undefined && limit > 0 ? limit : undefined,
          size: options.size === true && !options.quiet,
        },
      });
      const list = containers ?? [];
      if (options.quiet) {
        ctx.io.stdout.write(list.map((c) => `${options.trunc ? truncateId(c.Id) : c.Id}\n`).join(''));
        return;
      }
      ctx.io.stdout.write(formatContainerTable(list, { trunc: options.trunc, size: options.size === true }));
    });
}
