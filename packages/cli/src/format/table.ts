/**
 * Column alignment exactly like the docker CLI's tables: Go's tabwriter (elastic tabstops) with
 * minwidth 10, padding 3 and spaces. Every cell but the last of a line is padded to its column's
 * width; the last cell is written as is.
 */
import { displayWidth } from './text.js';

export interface TableOptions {
  minWidth: number;
  padding: number;
}

export const DOCKER_TABLE: TableOptions = { minWidth: 10, padding: 3 };

/** Renders lines of cells (each line ends with a newline), following tabwriter's block rules. */
export function renderTable(
  lines: ReadonlyArray<readonly string[]>,
  options: TableOptions = DOCKER_TABLE,
): string {
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const line = lines[i] as readonly string[];
      let text = '';
      line.forEach((cell, j) => {
        text += cell;
        const width = widths[j];
        if (width !== undefined) text += ' '.repeat(Math.max(0, width - displayWidth(cell)));
      });
      out.push(`${text}\n`);
    }
  };

  // A column is a run of consecutive lines that have a cell in it (the last cell of a line never
  // belongs to a column); its width is the widest cell plus padding, at least minWidth.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    let start = line0;
    for (let current = line0; current < line1; current++) {
      if (column >= (lines[current] as readonly string[]).length - 1) continue;
      writeLines(start, current);
      start = current;
      let width = options.minWidth;
      for (; current < line1; current++) {
        const line = lines[current] as readonly string[];
        if (column >= line.length - 1) break;
        width = Math.max(width, displayWidth(line[column] as string) + options.padding);
      }
      widths.push(width);
      format(start, current);
      widths.pop();
      start = current;
    }
    writeLines(start, line1);
  };

  format(0, lines.length);
  return out.join('');
}
