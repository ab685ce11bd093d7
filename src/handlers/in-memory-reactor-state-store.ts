import type { Position } from '../event-store/position';
import type { ReactorErrorInfo } from './errors';
import {
  pageOf,
  parkedEvent,
  parseParkedCursor,
  redriveIds,
  type Invocation,
  type InvocationQuery,
  type LeaseGrant,
  type LeaseInfo,
  type ParkedEvent,
  type ParkedEventRecord,
  type ParkedPage,
  type ParkedQuery,
  type ReactorStateStore,
  type RedriveParkedRequest,
} from './reactor-state-store';
import { InvalidReactorError } from './errors';

interface Lease {
  owner: string | undefined;
  expiresAt: number;
}

/**
 * Reactor bookkeeping in process memory, for the in-memory event store (tests, examples). Leases work
 * as on the shared stores, so it can also stand in for one in unit tests.
 *
 * @example
 * const runner = await ReactorRunner.start({ store: new InMemoryEventStore(), reactors, state: new InMemoryReactorStateStore() });
 */
export class InMemoryReactorStateStore implements ReactorStateStore {
  readonly backend = 'memory' as const;
  /** False unless asked for: then the runner takes leases from it as from a shared store. */
  readonly shared: boolean;
  readonly singleWriter = false;
  private readonly clock: () => number;
  private readonly checkpoints = new Map<string, Map<number, Position>>();
  private readonly parked = new Map<string, ParkedEvent>();
  private invocationLog: Invocation[] = [];
  private readonly leases = new Map<string, Lease[]>();
  private readonly workers = new Map<string, Map<string, number>>();

  constructor(options: { readonly shared?: boolean; readonly clock?: () => number } = {}) {
    this.shared = options.shared ?? false;
    this.clock = options.clock ?? Date.now;
  }

  preparePartitions(group: string, count: number): Promise<void> {
    const existing = this.leases.get(group);
    if (existing && existing.length !== count) {
      return Promise.reject(new InvalidReactorError(`worker group "${group}" has ${existing.length} partitions, not ${count}`));
    }
    if (!existing) this.leases.set(group, Array.from({ length: count }, () => ({ owner: undefined, expiresAt: 0 })));
    return Promise.resolve();
  }

  claimLeases(group: string, workerId: string, ttlMs: number, want: (liveWorkers: number) => number): Promise<LeaseGrant> {
    const now = this.clock();
    const workers = this.workers.get(group) ?? new Map<string, number>();
    this.workers.set(group, workers);
    workers.set(workerId, now + ttlMs);
    const liveWorkers = [...workers.values()].filter((expiresAt) => expiresAt > now).length;
    const leases = this.leases.get(group) ?? [];
    const held: number[] = [];
    leases.forEach((lease, partition) => {
      if (lease.owner === workerId && lease.expiresAt > now) {
        lease.expiresAt = now + ttlMs;
        held.push(partition);
      }
    });
    const target = want(liveWorkers);
    leases.forEach((lease, partition) => {
      if (held.length >= target) return;
      if (lease.owner === undefined || lease.expiresAt <= now) {
        lease.owner = workerId;
        lease.expiresAt = now + ttlMs;
        held.push(partition);
      }
    });
    return Promise.resolve({ held: held.sort((a, b) => a - b), liveWorkers });
  }

  releaseLeases(group: string, workerId: string, partitions: readonly number[]): Promise<void> {
    const leases = this.leases.get(group) ?? [];
    for (const partition of partitions) {
      const lease = leases[partition];
      if (lease && lease.owner === workerId) Object.assign(lease, { owner: undefined, expiresAt: 0 });
    }
    return Promise.resolve();
  }

  async leaveGroup(group: string, workerId: string): Promise<void> {
    this.workers.get(group)?.delete(workerId);
    const leases = this.leases.get(group) ?? [];
    await this.releaseLeases(
      group,
      workerId,
      leases.flatMap((lease, partition) => (lease.owner === workerId ? [partition] : [])),
    );
  }

  listLeases(group: string): Promise<LeaseInfo[]> {
    return Promise.resolve(
      (this.leases.get(group) ?? []).map((lease, partition) => ({
        partition,
        owner: lease.owner,
        expiresAt: lease.owner === undefined ? undefined : new Date(lease.expiresAt),
      })),
    );
  }

  loadCheckpoints(reactor: string): Promise<Map<number, Position>> {
    return Promise.resolve(new Map(this.checkpoints.get(reactor) ?? []));
  }

  saveCheckpoints(
    reactor: string,
    checkpoints: ReadonlyMap<number, Position>,
    fence: { readonly group: string; readonly workerId: string } | undefined,
  ): Promise<number[]> {
    const stored = this.checkpoints.get(reactor) ?? new Map<number, Position>();
    this.checkpoints.set(reactor, stored);
    const lost: number[] = [];
    const now = this.clock();
    for (const [partition, position] of checkpoints) {
      if (fence) {
        const lease = this.leases.get(fence.group)?.[partition];
        if (!lease || lease.owner !== fence.workerId || lease.expiresAt <= now) {
          lost.push(partition);
          continue;
        }
      }
      const current = stored.get(partition);
      if (!current || position.isAfter(current)) stored.set(partition, position);
    }
    return Promise.resolve(lost);
  }

  park(events: readonly ParkedEventRecord[]): Promise<void> {
    for (const parked of events) {
      const key = keyOf(parked.reactor, parked.event.id);
      if (!this.parked.has(key)) this.parked.set(key, parkedEvent(parked, false));
    }
    return Promise.resolve();
  }

  repark(reactor: string, eventId: string, attempts: number, error: ReactorErrorInfo): Promise<void> {
    const key = keyOf(reactor, eventId);
    const current = this.parked.get(key);
    if (current) this.parked.set(key, parkedEvent({ ...current, status: 'parked', attempts, error, parkedAt: new Date(this.clock()) }, false));
    return Promise.resolve();
  }

  removeParked(reactor: string, eventId: string): Promise<void> {
    this.parked.delete(keyOf(reactor, eventId));
    return Promise.resolve();
  }

  async listParked(query: ParkedQuery): Promise<ParkedPage> {
    await Promise.resolve();
    const after = parseParkedCursor(query.after);
    const limit = query.limit ?? 100;
    const rows = this.sorted().filter(
      (row) =>
        (query.reactor === undefined || row.reactor === query.reactor) &&
        (query.streamName === undefined || row.event.streamName === query.streamName) &&
        (!after || row.position > after.position || (row.position === after.position && row.reactor > after.reactor)),
    );
    return pageOf(rows.slice(0, limit + 1), limit);
  }

  parkedInStream(reactor: string, streamName: string): Promise<ParkedEvent[]> {
    return Promise.resolve(this.sorted().filter((row) => row.reactor === reactor && row.event.streamName === streamName));
  }

  blockedStreams(reactor: string, partitions: readonly number[]): Promise<string[]> {
    const wanted = new Set(partitions);
    const streams = new Set<string>();
    for (const row of this.parked.values()) if (row.reactor === reactor && wanted.has(row.partition)) streams.add(row.event.streamName);
    return Promise.resolve([...streams]);
  }

  countParked(reactor: string): Promise<{ parked: number; waiting: number }> {
    let parked = 0;
    let waiting = 0;
    for (const row of this.parked.values()) {
      if (row.reactor !== reactor) continue;
      if (row.status === 'parked') parked++;
      else waiting++;
    }
    return Promise.resolve({ parked, waiting });
  }

  requestRedrive(request: RedriveParkedRequest): Promise<number> {
    const ids = redriveIds(request);
    const chosen = this.sorted()
      .filter(
        (row) =>
          row.reactor === request.reactor &&
          row.status === 'parked' &&
          !row.redriveRequested &&
          (ids === undefined || ids.includes(row.event.id)) &&
          (request.streamName === undefined || row.event.streamName === request.streamName),
      )
      .slice(0, request.limit ?? 1_000);
    for (const row of chosen) this.parked.set(keyOf(row.reactor, row.event.id), parkedEvent(row, true));
    return Promise.resolve(chosen.length);
  }

  redriveRequested(reactor: string, partitions: readonly number[], limit: number): Promise<ParkedEvent[]> {
    const wanted = new Set(partitions);
    return Promise.resolve(
      this.sorted()
        .filter((row) => row.reactor === reactor && row.redriveRequested && wanted.has(row.partition))
        .slice(0, limit),
    );
  }

  recordInvocations(invocations: readonly Invocation[]): Promise<void> {
    for (const invocation of invocations) this.invocationLog.push(invocation);
    return Promise.resolve();
  }

  listInvocations(query: InvocationQuery): Promise<Invocation[]> {
    const result: Invocation[] = [];
    const limit = query.limit ?? 100;
    for (let index = this.invocationLog.length - 1; index >= 0 && result.length < limit; index--) {
      const invocation = this.invocationLog[index]!;
      if (query.reactor !== undefined && invocation.reactor !== query.reactor) continue;
      if (query.eventId !== undefined && invocation.eventId !== query.eventId) continue;
      if (query.position !== undefined && invocation.position !== query.position) continue;
      result.push(invocation);
    }
    return Promise.resolve(result);
  }

  pruneInvocations(before: Date): Promise<number> {
    const kept = this.invocationLog.filter((invocation) => invocation.at >= before);
    const removed = this.invocationLog.length - kept.length;
    this.invocationLog = kept;
    return Promise.resolve(removed);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private sorted(): ParkedEvent[] {
    return [...this.parked.values()].sort((a, b) => a.event.position.compareTo(b.event.position) || (a.reactor < b.reactor ? -1 : a.reactor > b.reactor ? 1 : 0));
  }
}

function keyOf(reactor: string, eventId: string): string {
  return `${reactor}\u0000${eventId}`;
}
