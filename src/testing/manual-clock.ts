import type { Clock } from '../handlers/clock';

/**
 * A clock that moves only when told: pass it to `ReactorRunner.start({ clock })` and move time forward
 * in a test instead of sleeping. Wake-ups due by the new time run in due order.
 *
 * @example
 * const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
 * const runner = await ReactorRunner.start({ store, reactors: [approval], aggregates: [order], clock });
 * clock.advance(300_000);
 * await runner.timersSettled();
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly pending = new Map<number, { readonly at: number; readonly callback: () => void }>();
  private nextId = 0;

  constructor(start: Date = new Date('2026-01-01T00:00:00.000Z')) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  setTimeout(callback: () => void, ms: number): { cancel(): void } {
    const id = this.nextId++;
    this.pending.set(id, { at: this.current + Math.max(0, ms), callback });
    // A wake-up due now still runs asynchronously, as a real timer would.
    if (ms <= 0) setImmediate(() => this.runDue());
    return { cancel: () => this.pending.delete(id) };
  }

  /** Moves time forward by `ms` and runs the wake-ups due by then. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance: ms must be 0 or more, got ${ms}`);
    this.current += ms;
    this.runDue();
  }

  /** Moves time forward to `time` (never back) and runs the wake-ups due by then. */
  advanceTo(time: Date): void {
    this.advance(Math.max(0, time.getTime() - this.current));
  }

  /** Wake-ups waiting. */
  get waiting(): number {
    return this.pending.size;
  }

  private runDue(): void {
    const due = [...this.pending.entries()].filter(([, entry]) => entry.at <= this.current).sort((a, b) => a[1].at - b[1].at);
    for (const [id, entry] of due) {
      this.pending.delete(id);
      entry.callback();
    }
  }
}
