/**
 * Wakes everyone waiting for "something moved" (a commit, a state change, a switch-over). Waiters take
 * `next()` before they check their condition, so a change between the check and the wait is never
 * missed.
 */
export class ProgressSignal {
  private wake: () => void = () => undefined;
  private promise: Promise<void> = this.renew();

  /** Resolves at the next `notify()`. */
  next(): Promise<void> {
    return this.promise;
  }

  notify(): void {
    const wake = this.wake;
    this.promise = this.renew();
    wake();
  }

  private renew(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }
}
