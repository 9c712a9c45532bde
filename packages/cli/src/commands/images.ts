/** `tsdocker images`: `GET /images/json` shown as docker's table, one row per repository tag. */
import type { Command } from 'commander';
import { UsageError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import { humanSize } from '../format/size.js';
import { renderTable } from '../format/table.js';
import { timeAgo } from '../format/time.js';
import { addFilter, encodeFilters, FilterParseError, parseFilterFlags } from '../options/filters.js';
import { familiarName, parseReference, truncateId } from '../reference.js';
import { collect } from './options.js';

export interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: number;
  Size?: number;
}

interface ImagesOptions {
  all?: boolean;
  quiet?: boolean;
  trunc: boolean;
  filter?: string[];
}

export interface ImageRow {
  repository: string;
  tag: string;
  image: ImageSummary;
}

function isDangling(image: ImageSummary): boolean {
  const tags = image.RepoTags ?? [];
  const digests = image.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return (
    tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>'
  );
}

/** docker's rows: one per (familiar repository, tag); digest-only repositories get `<none>` tags. */
export function imageRows(images: readonly ImageSummary[]): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const image of images) {
    if (isDangling(image)) {
      rows.push({ repository: '<none>', tag: '<none>', image });
      continue;
    }
    const tagsByRepo = new Map<string, string[]>();
    for (const refText of image.RepoTags ?? []) {
      if (refText.startsWith('<none>')) continue;
      const ref = parseReference(refText);
      if (ref.tag === undefined) continue;
      const repo = familiarName(ref);
      tagsByRepo.set(repo, [...(tagsByRepo.get(repo) ?? []), ref.tag]);
    }
    const digestRepos = new Set<string>();
    for (const refText of image.RepoDigests ?? []) {
      if (refText.startsWith('<none>')) continue;
      digestRepos.add(familiarName(parseReference(refText)));
    }
    for (const [repository, tags] of tagsByRepo) {
      digestRepos.delete(repository);
      for (const tag of tags) rows.push({ repository, tag, image });
    }
    for (const repository of digestRepos) rows.push({ repository, tag: '<none>', image });
  }
  return rows;
}

function imageId(image: ImageSummary, trunc: boolean): string {
  return trunc ? truncateId(image.Id) : image.Id;
}

export function formatImageTable(
  images: readonly ImageSummary[],
  options: { trunc: boolean; now?: number },
): string {
  const rows = imageRows(images).map((row) => [
    row.repository,
    row.tag,
    imageId(row.image, options.trunc),
    timeAgo(row.image.Created ?? 0, options.now),
    humanSize(row.image.Size ?? 0),
  ]);
  return renderTable([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows]);
}

export function registerImagesCommand(program: Command, ctx: CommandContext): void {
  program
    .command('images')
    .summary('List images')
    .description('List images')
    .usage('[OPTIONS] [REPOSITORY[:TAG]]')
    .argument('[repository]')
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('-q, --quiet', 'Only show image IDs')
    .option('--no-trunc', "Don't truncate output")
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .action(async (repository: string | undefined, options: ImagesOptions) => {
      let filters: string | undefined;
      try {
        const args = parseFilterFlags(options.filter ?? []);
        if (repository) addFilter(args, 'reference', repository);
        filters = encodeFilters(args);
      } catch (err) {
        if (err instanceof FilterParseError)
          throw new UsageError(`invalid argument for "-f, --filter" flag: ${err.message}`, 'images');
        throw err;
      }
      const images =
        (await ctx
          .client()
          .json<ImageSummary[]>('GET', '/images/json', { query: { all: options.all === true, filters } })) ??
        [];
      if (options.quiet) {
        // Like docker, one line per row, so an image with two tags is listed twice.
        ctx.io.stdout.write(
          imageRows(images)
            .map((row) => `${imageId(row.image, options.trunc)}\n`)
            .join(''),
        );
        return;
      }
      ctx.io.stdout.write(formatImageTable(images, { trunc: options.trunc }));
    });
}
