import {
  checkTimerQuery,
  parseTimerCursor,
  timerPageOf,
  type StoredTimer,
  type TimerChange,
  type TimerSettlement,
  type TimerPage,
  type TimerQuery,
  type TimerStore,
} from './timer-store';

/**
 * Timers in memory, for the in-memory event store and tests. Lookups scan every timer (fine for tests;
 * SQLite and PostgreSQL keep an index on due time).
 *
 * @example
 * const runner = await ReactorRunner.start({ store, reactors, aggregates: [order], timers: new InMemoryTimerStore() });
 */
export class InMemoryTimerStore implements TimerStore {
  readonly backend = 'memory' as const;
  private readonly timers = new Map<string, StoredTimer>();

  applyTimerChanges(changes: readonly TimerChange[]): Promise<void> {
    for (const change of changes) {
      const reactor = change.kind === 'set' ? change.timer.reactor : change.reactor;
      const key = change.kind === 'set' ? change.timer.key : change.key;
      const version = change.kind === 'set' ? change.timer.version : change.version;
      const id = idOf(reactor, key);
      const existing = this.timers.get(id);
      if (existing && existing.version >= version) continue;
      if (change.kind === 'set') {
        this.timers.set(id, { ...change.timer, status: 'pending', attempts: 0 });
      } else if (existing) {
        // A sent timer stays sent; the version still moves, so that no older set revives it.
        const open = existing.status === 'pending' || existing.status === 'parked';
        this.timers.set(id, open ? { ...existing, status: 'cancelled', version, settledAt: new Date() } : { ...existing, version });
      } else {
        // A cancel before its timer arrived (events in another order): the tombstone keeps the late set out.
        this.timers.set(id, tombstone(reactor, key, change.partition, version));
      }
    }
    return Promise.resolve();
  }

  nextDue(partitions: readonly number[], after: Date): Promise<Date | undefined> {
    const held = new Set(partitions);
    let next: Date | undefined;
    for (const timer of this.timers.values()) {
      if (timer.status !== 'pending' || !held.has(timer.partition) || timer.dueAt <= after) continue;
      if (!next || timer.dueAt < next) next = timer.dueAt;
    }
    return Promise.resolve(next);
  }

  dueTimers(partitions: readonly number[], now: Date, limit: number): Promise<StoredTimer[]> {
    const held = new Set(partitions);
    const due = [...this.timers.values()].filter((timer) => timer.status === 'pending' && held.has(timer.partition) && timer.dueAt <= now);
    return Promise.resolve(due.sort(byDue).slice(0, limit));
  }

  settleTimers(settlements: readonly TimerSettlement[]): Promise<void> {
    for (const { reactor, key, version, outcome, at } of settlements) {
      const id = idOf(reactor, key);
      const existing = this.timers.get(id);
      if (!existing || existing.status !== 'pending' || existing.version !== version) continue;
      const { error: _previous, ...rest } = existing;
      this.timers.set(id, {
        ...rest,
        status: outcome.status,
        attempts: outcome.attempts,
        settledAt: at,
        ...(outcome.status === 'parked' ? { error: outcome.error } : {}),
      });
    }
    return Promise.resolve();
  }

  // async: a bad query rejects, as with the database stores.
  // eslint-disable-next-line @typescript-eslint/require-await
  async listTimers(query: TimerQuery): Promise<TimerPage> {
    const { status, limit } = checkTimerQuery(query);
    const after = parseTimerCursor(query.after);
    const rows = [...this.timers.values()]
      .filter((timer) => timer.status === status && (query.reactor === undefined || timer.reactor === query.reactor))
      .sort(byDue)
      .filter((timer) => !after || compareCursor(timer, after) > 0)
      .slice(0, limit + 1);
    return timerPageOf(rows, limit);
  }

  getTimer(reactor: string, key: string): Promise<StoredTimer | undefined> {
    return Promise.resolve(this.timers.get(idOf(reactor, key)));
  }

  cancelTimer(reactor: string, key: string, at: Date): Promise<boolean> {
    const id = idOf(reactor, key);
    const existing = this.timers.get(id);
    if (!existing || (existing.status !== 'pending' && existing.status !== 'parked')) return Promise.resolve(false);
    this.timers.set(id, { ...existing, status: 'cancelled', settledAt: at });
    return Promise.resolve(true);
  }

  redriveTimer(reactor: string, key: string, at: Date): Promise<boolean> {
    const id = idOf(reactor, key);
    const existing = this.timers.get(id);
    if (!existing || existing.status !== 'parked') return Promise.resolve(false);
    const { error: _error, settledAt: _settled, ...rest } = existing;
    this.timers.set(id, { ...rest, status: 'pending', attempts: 0, dueAt: at });
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function idOf(reactor: string, key: string): string {
  return `${reactor}\u0000${key}`;
}

function byDue(a: StoredTimer, b: StoredTimer): number {
  return a.dueAt.getTime() - b.dueAt.getTime() || (a.reactor < b.reactor ? -1 : a.reactor > b.reactor ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

function compareCursor(timer: StoredTimer, after: { dueAt: number; reactor: string; key: string }): number {
  return (
    timer.dueAt.getTime() - after.dueAt ||
    (timer.reactor < after.reactor ? -1 : timer.reactor > after.reactor ? 1 : timer.key < after.key ? -1 : timer.key > after.key ? 1 : 0)
  );
}

/** A cancelled timer with nothing to send: only its version matters. */
export function tombstone(reactor: string, key: string, partition: number, version: string): StoredTimer {
  return {
    reactor,
    key,
    partition,
    dueAt: new Date(0),
    aggregate: '',
    streamName: '',
    command: { type: '' },
    causedBy: { id: '', metadata: {} },
    version,
    status: 'cancelled',
    attempts: 0,
    settledAt: new Date(),
  };
}
