/**
 * How much of the exponential step is random.
 *
 * - `full`: uniform in `[0, step)`. Spreads colliding callers the most; the right default when the retry
 *   is cheap and the failure was contention (two writers raced), not an outage.
 * - `equal`: uniform in `[step / 2, step)`. Keeps half of the step as a floor, for retries against a
 *   dependency that just failed (a database, a webhook target): a retry a few milliseconds after a
 *   failure only adds load where the outage is.
 */
export type Jitter = 'full' | 'equal';

/** Exponential backoff, capped, with jitter. */
export interface Backoff {
  /** The step before the first retry. */
  readonly initialDelayMs: number;
  /** The largest step; later retries stay at it. */
  readonly maxDelayMs: number;
  readonly jitter: Jitter;
}

/**
 * The delay before retry number `retry` (1 for the first retry): the step
 * `min(maxDelayMs, initialDelayMs · 2^(retry − 1))`, then jittered as {@link Jitter} says, using
 * `random`, a uniform number in `[0, 1)` (injected so tests can pin it).
 *
 * @example
 * backoffDelay({ initialDelayMs: 100, maxDelayMs: 30_000, jitter: 'equal' }, 3, Math.random); // in [200, 400)
 */
export function backoffDelay(backoff: Backoff, retry: number, random: () => number): number {
  // The exponent is clamped so that 2^n stays finite (0 · Infinity would be NaN).
  const step = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** Math.min(Math.max(retry - 1, 0), 52));
  switch (backoff.jitter) {
    case 'full':
      return step * random();
    case 'equal':
      return step / 2 + (step / 2) * random();
    default: {
      const _never: never = backoff.jitter;
      return _never;
    }
  }
}
