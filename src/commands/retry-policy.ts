import { backoffDelay } from '../internal/backoff';

/**
 * How `handleCommand` retries after losing an optimistic-concurrency race: at most `maxRetries` more
 * attempts, each after a random delay ("full jitter") below `baseDelayMs · 2^attempt`, capped at
 * `maxDelayMs`. The jitter keeps writers that collided once from colliding again in lockstep.
 *
 * @example
 * await handleCommand({ store, retry: { maxRetries: 5, baseDelayMs: 2 } }, cart, request);
 */
export interface CommandRetryPolicy {
  /** Attempts after the first. Default 3; 0 turns retrying off. */
  readonly maxRetries?: number;
  /** Default 2 ms. */
  readonly baseDelayMs?: number;
  /** Default 50 ms. */
  readonly maxDelayMs?: number;
}

export const DEFAULT_COMMAND_RETRY: Required<CommandRetryPolicy> = { maxRetries: 3, baseDelayMs: 2, maxDelayMs: 50 };

/**
 * The delay before retry number `retry` (0 for the first retry), given a uniform random number in [0, 1).
 *
 * @example
 * jitteredDelay({ ...DEFAULT_COMMAND_RETRY }, 1, Math.random()); // somewhere in [0, 4) ms
 */
export function jitteredDelay(policy: Required<CommandRetryPolicy>, retry: number, random: number): number {
  return backoffDelay({ initialDelayMs: policy.baseDelayMs, maxDelayMs: policy.maxDelayMs, jitter: 'full' }, retry + 1, () => random);
}

/** Fills defaults and rejects nonsense, so a typo cannot turn into unbounded retrying. */
export function resolveRetryPolicy(policy: CommandRetryPolicy | undefined): Required<CommandRetryPolicy> {
  const resolved = { ...DEFAULT_COMMAND_RETRY, ...policy };
  const { maxRetries, baseDelayMs, maxDelayMs } = resolved;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 100) {
    throw new RangeError(`retry.maxRetries must be an integer from 0 to 100, got ${maxRetries}`);
  }
  if (!(baseDelayMs >= 0) || !(maxDelayMs >= 0) || !Number.isFinite(maxDelayMs)) {
    throw new RangeError('retry.baseDelayMs and retry.maxDelayMs must be finite numbers >= 0');
  }
  return resolved;
}
