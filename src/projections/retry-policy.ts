import { backoffDelay } from '../internal/backoff';

/**
 * How a projection waits before trying a failed batch again (database down, lock held): exponential
 * backoff with equal jitter (half of each step is a floor), so that many projections coming back at once do not hit
 * the database together, and none retries at once against a database that just failed.
 *
 * @example
 * const engine = new ProjectionEngine({ ..., retry: { initialDelayMs: 50, maxDelayMs: 5_000 } });
 */
export interface RetryPolicy {
  /** The step before the first retry (the wait is between half of it and it). Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Longest delay between retries. Default 30 s. */
  readonly maxDelayMs?: number;
}

/** The delay before retry number `attempt` (1-based). */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  return backoffDelay({ initialDelayMs: policy.initialDelayMs ?? 100, maxDelayMs: policy.maxDelayMs ?? 30_000, jitter: 'equal' }, attempt, random);
}
