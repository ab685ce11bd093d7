/**
 * How a projection waits before trying a failed batch again (database down, lock held): exponential
 * backoff with jitter, so that many projections coming back at once do not hit the database together.
 *
 * @example
 * const engine = new ProjectionEngine({ ..., retry: { initialDelayMs: 50, maxDelayMs: 5_000 } });
 */
export interface RetryPolicy {
  /** Delay before the first retry. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Longest delay between retries. Default 30 s. */
  readonly maxDelayMs?: number;
}

/** The delay before retry number `attempt` (1-based). */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const initial = policy.initialDelayMs ?? 100;
  const max = policy.maxDelayMs ?? 30_000;
  const exponential = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
  // ±20 % jitter, never above the maximum.
  return Math.min(max, Math.round(exponential * (0.8 + 0.4 * random())));
}

