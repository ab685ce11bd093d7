/**
 * Time as the timer machinery sees it: the current time and one-shot wake-ups. The runner takes one so
 * that tests move time forward instead of sleeping (see `ManualClock` in `eventfold/testing`).
 *
 * @example
 * const runner = await ReactorRunner.start({ store, reactors, aggregates: [order], clock: systemClock });
 */
export interface Clock {
  now(): Date;
  /** Calls `callback` once, `ms` from now (or later); `cancel` stops it. */
  setTimeout(callback: () => void, ms: number): { cancel(): void };
}

/** Node's own largest timeout: longer waits wake early and look again. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * The wall clock and Node's timers (unref'd: a pending timer never keeps a process alive).
 *
 * @example
 * systemClock.now();
 */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, Math.min(MAX_TIMEOUT_MS, Math.max(0, ms)));
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  },
};
