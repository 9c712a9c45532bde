/** Small helpers for declaring commander options. */

/** Accumulates a repeatable option (`-e A=1 -e B=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
