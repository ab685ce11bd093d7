/**
 * Resolves after `ms`, or at once when `signal` aborts (a stopping engine must not wait out a backoff).
 *
 * @example
 * await delay(backoffDelay(policy, attempt, Math.random), this.stopping.signal);
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Waits for `promise`, but no longer than `ms`: `true` when it settled in time, `false` when the time ran
 * out (it keeps running). A rejection in time passes through. The timer is cleared either way, so a
 * bounded wait never holds the process open.
 *
 * @example
 * if (!(await within(progressed, remainingMs))) throw new WaitForPositionTimeoutError(...);
 */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `promise`'s value, or a rejection with `timeoutError()` when it takes longer than `ms`.
 *
 * @example
 * await withTimeout(store.headPosition(), 2_000, () => new Error('timed out'));
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  if (await within(promise, ms)) return promise;
  throw timeoutError();
}
