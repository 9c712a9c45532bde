/**
 * Waits for every one of `steps`, then throws the first failure. For independent steps run side
 * by side where a failure leads to cleanup: nothing is still writing when the cleanup starts,
 * as it could be after Promise.all's early rejection.
 */
export async function settleAll(steps: ReadonlyArray<Promise<unknown> | null | undefined>): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
