/**
 * Waits for every promise, then throws the first failure. Unlike Promise.all, nothing is still
 * running when the caller hears of the failure: a folder removed after a failed write is not
 * written into afterwards by the writes that were still under way.
 */
export async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected');
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
}
