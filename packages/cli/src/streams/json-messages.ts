/**
 * Shows a JSON progress stream (pull, import) like docker's `jsonmessage`: status lines, progress
 * bars rewritten in place on a terminal (and hidden elsewhere), `stream` text verbatim, and
 * `errorDetail` as the failure. A line with only the legacy `error` field is not a failure,
 * exactly as in the docker CLI.
 */
import type { Writable } from 'node:stream';
import { CliError } from '../cli-errors.js';
import { readJsonStream } from '../client/json-stream.js';
import { humanSizeWithPrecision } from '../format/size.js';
import { writeAll } from './write.js';

export interface JsonMessage {
  status?: string;
  id?: string;
  stream?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number; units?: string; hidecounts?: boolean };
  errorDetail?: { code?: number; message?: string };
  aux?: unknown;
}

/** A failure reported inside the stream; `code` is the build-style exit code when given. */
export class JsonMessageError extends CliError {
  constructor(message: string, code?: number) {
    super(message, code && code > 0 ? code : 1);
    this.name = 'JsonMessageError';
  }
}

/** docker's `JSONProgress.String()` without the time-left estimate. */
export function renderProgress(
  detail: NonNullable<JsonMessage['progressDetail']>,
  terminalWidth = 200,
): string {
  const current = detail.current ?? 0;
  const total = detail.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  const human = (n: number) => humanSizeWithPrecision(n, 4);
  if (total <= 0) return detail.units ? `${current} ${detail.units}` : human(current).padStart(8);
  const filled = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = terminalWidth > 110 ? `[${'='.repeat(filled)}>${' '.repeat(Math.max(0, 50 - filled))}] ` : '';
  let numbers = '';
  if (!detail.hidecounts) {
    if (detail.units)
      numbers = current > total ? `${current} ${detail.units}` : `${current}/${total} ${detail.units}`;
    else
      numbers =
        current > total ? human(current).padStart(8) : `${human(current).padStart(8)}/${human(total)}`;
  }
  return bar + numbers;
}

export interface DisplayOptions {
  isTerminal: boolean;
  terminalWidth?: number;
  onAux?: (aux: unknown) => void;
}

export async function displayJsonMessages(
  source: AsyncIterable<Buffer | string>,
  out: Writable,
  options: DisplayOptions,
): Promise<void> {
  const { isTerminal } = options;
  // Lines that carry a progress id, by id, so later updates rewrite them in place.
  let ids = new Map<string, number>();
  for await (const value of readJsonStream(source)) {
    const msg = value as JsonMessage;
    if (msg.errorDetail?.message !== undefined)
      throw new JsonMessageError(msg.errorDetail.message, msg.errorDetail.code);
    if (msg.aux !== undefined) {
      options.onAux?.(msg.aux);
      continue;
    }
    const hasProgress = msg.progressDetail !== undefined;
    let diff = 0;
    if (msg.id && (hasProgress || msg.progress)) {
      let line = ids.get(msg.id);
      if (line === undefined) {
        line = ids.size;
        ids.set(msg.id, line);
        if (isTerminal) await writeAll(out, '\n');
      }
      diff = ids.size - line;
      if (isTerminal) await writeAll(out, `\x1b[${diff}A`);
    } else {
      ids = new Map();
    }
    await writeAll(out, formatMessage(msg, options));
    if (msg.id && isTerminal && diff > 0) await writeAll(out, `\x1b[${diff}B`);
  }
}

function formatMessage(msg: JsonMessage, options: DisplayOptions): string {
  const progressText = msg.progressDetail ? renderProgress(msg.progressDetail, options.terminalWidth) : '';
  let prefix = '';
  let endl = '';
  if (options.isTerminal && !msg.stream && msg.progressDetail) {
    prefix = '\x1b[2K\r';
    endl = '\r';
  } else if (progressText !== '') {
    // Progress bars are for terminals only.
    return '';
  }
  if (msg.id) prefix += `${msg.id}: `;
  if (msg.progressDetail && options.isTerminal) return `${prefix}${msg.status ?? ''} ${progressText}${endl}`;
  if (msg.progress) return `${prefix}${msg.status ?? ''} ${msg.progress}${endl}`;
  if (msg.stream) return `${prefix}${msg.stream}${endl}`;
  return `${prefix}${msg.status ?? ''}${endl}\n`;
}
