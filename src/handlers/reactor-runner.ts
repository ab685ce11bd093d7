import { within } from '../internal/delay';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventStore } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { InvalidReactorError, ReactorWaitTimeoutError, RunnerStoppedError, UnknownReactorError, errorInfo } from './errors';
import { silentLogger } from '../internal/logger';
import { observeLag } from '../internal/metrics';
import { PartitionLeases, sameSet } from './partition-leases';
import { ReactorPump, type PumpEnvironment } from './reactor-pump';
import { resolveReactor } from './reactor';
import type { Invocation, InvocationQuery, ParkedPage, ParkedQuery, ReactorStateStore, RedriveParkedRequest } from './reactor-state-store';
import { reactorStateStoreFor } from './state-store-for';
import { systemClock } from './clock';
import { TimerRuntime, timerStoreFor } from './timer-runtime';
import type { TimerPage, TimerQuery, TimerStore } from './timer-store';
import type { ReactorRunnerOptions, ReactorStatus, WorkerStatus } from './runner-types';

const DEFAULT_PARTITIONS = 16;
const DEFAULT_LEASE_MS = 10_000;
const DEFAULT_RETENTION_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 60_000;

/**
 * Runs reactors: in-process next to the API, or as a worker process. Each reactor follows the store
 * from its checkpoints and gets every matching event at least once; finished work is checkpointed,
 * failures are retried and then parked. On PostgreSQL several workers share the partitions through
 * leases in the database.
 *
 * @example
 * const runner = await ReactorRunner.start({ store, reactors: [notifyCustomer] });
 * const { position } = await store.appendToStream('order-1', [shipped]);
 * await runner.waitForPosition('notify-customer', position);
 * console.log(await runner.status(), await runner.listParked({ reactor: 'notify-customer' }));
 * await runner.stop();
 */
export class ReactorRunner {
  private readonly pumps = new Map<string, ReactorPump>();
  private held = new Set<number>();
  private stopped = false;
  private redriveTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private applying: Promise<void> = Promise.resolve();
  private leases: PartitionLeases | undefined;
  private stopLagMetrics: (() => void) | undefined;
  readonly workerId: string;
  readonly group: string;
  readonly partitionCount: number;
  private readonly leaseMs: number;

  private readonly timers: TimerRuntime;

  private constructor(
    private readonly options: ReactorRunnerOptions,
    private readonly state: ReactorStateStore,
    private readonly ownsState: boolean,
    timerStore: TimerStore | undefined,
  ) {
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.group = options.partitions?.group ?? 'default';
    this.partitionCount = options.partitions?.count ?? DEFAULT_PARTITIONS;
    this.leaseMs = options.partitions?.leaseMs ?? DEFAULT_LEASE_MS;
    const commands = options.commands ?? { store: options.store };
    this.timers = new TimerRuntime(timerStore, state, {
      clock: options.clock ?? systemClock,
      commands,
      aggregates: options.aggregates ?? [],
      workerId: this.workerId,
      logger: options.logger ?? silentLogger,
      random: options.random ?? Math.random,
    });
    const environment: PumpEnvironment = {
      store: options.store,
      state,
      commands,
      workerId: this.workerId,
      group: this.group,
      partitionCount: this.partitionCount,
      fenced: state.shared,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 100,
      bufferSize: options.bufferSize ?? 4_096,
      logger: options.logger ?? silentLogger,
      random: options.random ?? Math.random,
      onLeaseLost: () => void this.leases?.runRound(),
      timers: this.timers,
    };
    for (const reactor of options.reactors) {
      const resolved = resolveReactor(reactor);
      if (this.pumps.has(resolved.name)) throw new InvalidReactorError(`two reactors are named "${resolved.name}"`);
      const pump = new ReactorPump(resolved, environment);
      this.pumps.set(resolved.name, pump);
      this.timers.owners.set(resolved.name, { retry: resolved.retry, record: (invocation) => pump.record(invocation) });
    }
  }

  /**
   * Checks the options, prepares the bookkeeping tables, takes partitions and starts every reactor.
   *
   * @example
   * const runner = await ReactorRunner.start({ store, reactors: [assignDriver], partitions: { count: 16 } });
   * @throws InvalidReactorError for a bad reactor or option (nothing is started).
   */
  static async start(options: ReactorRunnerOptions): Promise<ReactorRunner> {
    checkOptions(options);
    const state = options.state ?? (await reactorStateStoreFor(options.store));
    let runner: ReactorRunner;
    try {
      const timerStore = options.timers ?? (await timerStoreFor(options.store));
      runner = new ReactorRunner(options, state, options.state === undefined, timerStore);
    } catch (error) {
      if (options.state === undefined) await state.close();
      throw error;
    }
    await runner.begin();
    return runner;
  }

  private async begin(): Promise<void> {
    const logger = this.options.logger ?? silentLogger;
    if (!this.state.shared) {
      await this.apply(new Set(Array.from({ length: this.partitionCount }, (_, partition) => partition)));
    } else {
      const settings = { state: this.state, group: this.group, workerId: this.workerId, partitionCount: this.partitionCount, leaseMs: this.leaseMs, logger };
      this.leases = new PartitionLeases(settings, (partitions) => this.apply(partitions), () => this.held);
      await this.leases.start();
    }
    this.redriveTimer = setInterval(() => {
      for (const pump of this.pumps.values()) void pump.pollRedrives();
    }, this.options.redrivePollMs ?? 1_000);
    this.redriveTimer.unref?.();
    const retentionMs = this.options.invocationLog?.retentionMs ?? DEFAULT_RETENTION_MS;
    const prune = (): void => {
      this.state.pruneInvocations(new Date(Date.now() - retentionMs)).catch((error: unknown) => {
        logger.warn({ error: errorInfo(error) }, 'could not prune the invocation log');
      });
    };
    prune();
    this.pruneTimer = setInterval(prune, Math.min(PRUNE_EVERY_MS, Math.max(1_000, retentionMs)));
    this.pruneTimer.unref?.();
    this.stopLagMetrics = observeLag('reactor', async () =>
      (await this.status()).map((reactor) => ({ name: reactor.name, lagEvents: reactor.lagEvents, lagMs: reactor.lagMs, parked: reactor.parkedCount })),
    );
  }

  /** Switches every pump to these partitions; one switch at a time. */
  private apply(partitions: Set<number>): Promise<void> {
    this.applying = this.applying.then(async () => {
      if (sameSet(partitions, this.held) && partitions.size > 0) return;
      this.held = partitions;
      await Promise.all([...[...this.pumps.values()].map((pump) => pump.run(partitions)), this.timers.wheel?.setPartitions(partitions)]);
    });
    return this.applying;
  }

  /**
   * Every reactor's state in this worker, with stored checkpoints and parked counts.
   *
   * @example
   * for (const reactor of await runner.status()) console.log(reactor.name, reactor.state, reactor.parkedCount);
   */
  async status(): Promise<ReactorStatus[]> {
    const reactors: ReactorStatus[] = [];
    const head = await this.options.store.headPosition();
    for (const pump of this.pumps.values()) {
      const [stored, counts] = await Promise.all([this.state.loadCheckpoints(pump.reactor.name), this.state.countParked(pump.reactor.name)]);
      const session = pump.active;
      const { counters } = pump;
      const checkpoints = Array.from({ length: this.partitionCount }, (_, partition) => ({
        partition,
        position: stored.get(partition)?.toString(),
      }));
      const lowest = checkpoints.every((checkpoint) => checkpoint.position !== undefined)
        ? checkpoints.map((checkpoint) => checkpoint.position!).sort()[0]
        : undefined;
      reactors.push({
        name: pump.reactor.name,
        state: this.stopped ? 'stopped' : session ? 'running' : 'waiting',
        position: lowest,
        ...(await this.lag(pump, stored, head)),
        parkedCount: counts.parked,
        lastError: counters.lastError?.error.message,
        kind: pump.reactor.kind,
        ordering: pump.reactor.ordering,
        waitingCount: counts.waiting,
        checkpoints,
        inFlight: session?.inFlight ?? 0,
        queued: session?.queued ?? 0,
        handled: counters.handled,
        failedAttempts: counters.failedAttempts,
        ...(counters.lastError ? { lastFailure: counters.lastError } : {}),
      });
    }
    return reactors;
  }

  /** How far behind the head a reactor is: from the lowest finished position over all partitions. */
  private async lag(pump: ReactorPump, stored: ReadonlyMap<number, Position>, head: Position | undefined): Promise<{ lagEvents: number | undefined; lagMs: number }> {
    const session = pump.active;
    const safe = session?.tracker.safePositions();
    let lowest: Position | undefined;
    let fromStart = false;
    for (let partition = 0; partition < this.partitionCount; partition++) {
      const done = maxOf(stored.get(partition), session?.partitions.has(partition) ? safe?.get(partition) : undefined);
      if (!done) {
        fromStart = true;
        break;
      }
      if (!lowest || done.isBefore(lowest)) lowest = done;
    }
    const from = fromStart ? undefined : lowest;
    if (!head || (from && !head.isAfter(from))) return { lagEvents: 0, lagMs: 0 };
    const lagEvents = this.options.store.capabilities.sequencePositions ? Math.max(0, Number(head.prepare - (from?.prepare ?? 0n))) : undefined;
    for await (const next of this.options.store.readAll({ fromPosition: from ?? 'start', filter: pump.reactor.filter, maxCount: 1 })) {
      return { lagEvents, lagMs: next.position.isAfter(head) ? 0 : Math.max(0, Date.now() - next.recordedAt.getTime()) };
    }
    return { lagEvents, lagMs: 0 };
  }

  /**
   * This worker and the partitions it holds now.
   *
   * @example
   * const { heldPartitions } = runner.worker();
   */
  worker(): WorkerStatus {
    return {
      workerId: this.workerId,
      group: this.group,
      partitionCount: this.partitionCount,
      heldPartitions: [...this.held].sort((a, b) => a - b),
    };
  }

  /**
   * Parked (and waiting) events, oldest first, across all workers' partitions, a page at a time.
   *
   * @example
   * const page = await runner.listParked({ reactor: 'payment', limit: 50 });
   * for (const parked of page.items) console.log(parked.eventId, parked.reason, parked.attempts);
   * const more = page.next && (await runner.listParked({ reactor: 'payment', limit: 50, after: page.next }));
   */
  async listParked(query: ParkedQuery = {}): Promise<ParkedPage> {
    if (query.reactor !== undefined) this.pumpOf(query.reactor);
    return this.state.listParked({ ...query, limit: checkLimit(query.limit, 100) });
  }

  /**
   * Sends parked events through their handler again: some (`eventId`, `eventIds`), a stream's
   * (`streamName`), or all of the reactor's (none of these, or `all: true`), at most `limit`, oldest
   * first. The worker holding each event's partition runs it soon (at once when that is this one). In
   * `per-stream` mode, events waiting behind a redriven event follow it in order. Resolves with how
   * many events were marked.
   *
   * @example
   * await runner.redrive({ reactor: 'payment', streamName: 'order-42' });
   * await runner.redrive({ reactor: 'payment', all: true, limit: 500 });
   * @throws InvalidReactorError when `all: true` comes with ids or a stream, or for an empty id.
   */
  async redrive(request: RedriveParkedRequest): Promise<number> {
    if (this.stopped) throw new RunnerStoppedError();
    const pump = this.pumpOf(request.reactor);
    const narrowed = request.eventId !== undefined || request.eventIds !== undefined || request.streamName !== undefined;
    if (request.all === true && narrowed) throw new InvalidReactorError('redrive: all: true cannot be combined with event ids or a stream');
    const eventIds: unknown = request.eventIds;
    const texts: unknown[] = [request.eventId, request.streamName, ...(Array.isArray(eventIds) ? (eventIds as unknown[]) : [eventIds])];
    if (texts.some((text) => text !== undefined && (typeof text !== 'string' || text.length === 0)) || (eventIds !== undefined && !Array.isArray(eventIds))) {
      throw new InvalidReactorError('redrive: eventId, eventIds and streamName must be non-empty strings');
    }
    const requested = await this.state.requestRedrive({ ...request, limit: checkLimit(request.limit, 1_000) });
    if (requested > 0) await pump.pollRedrives();
    return requested;
  }

  /**
   * The invocation log: every attempt, newest first.
   *
   * @example
   * const attempts = await runner.invocations({ eventId: event.id });
   */
  async invocations(query: InvocationQuery = {}): Promise<Invocation[]> {
    if (query.reactor !== undefined) this.pumpOf(query.reactor);
    return this.state.listInvocations({ ...query, limit: checkLimit(query.limit, 100) });
  }

  /**
   * Resolves once every event up to `position` that the reactor gets, in this worker's partitions, has
   * finished (handled or parked); not necessarily checkpointed yet.
   *
   * @example
   * const { position } = await store.appendToStream('order-1', [placed]);
   * await runner.waitForPosition('assign-driver', position, { timeoutMs: 5_000 });
   * @throws ReactorWaitTimeoutError after `timeoutMs` (default 5,000).
   */
  async waitForPosition(reactor: string, position: Position, options: { timeoutMs?: number } = {}): Promise<void> {
    const pump = this.pumpOf(reactor);
    const timeoutMs = options.timeoutMs ?? 5_000;
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | undefined;
    const unsubscribe = pump.onProgress(() => wake?.());
    try {
      for (;;) {
        if (this.stopped) throw new RunnerStoppedError();
        if (await this.reached(pump, position)) return;
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new ReactorWaitTimeoutError(`reactor "${reactor}" did not reach ${position.toString()} within ${timeoutMs} ms`);
        // Progress wakes the wait; the timer bounds it (and covers a store that stays silent).
        await within(new Promise<void>((resolve) => (wake = resolve)), Math.min(remaining, 250));
        wake = undefined;
      }
    } finally {
      unsubscribe();
    }
  }

  private async reached(pump: ReactorPump, position: Position): Promise<boolean> {
    const session = pump.active;
    if (!session) return false;
    const safe = session.tracker.safePositions();
    let all = true;
    for (const partition of session.partitions) {
      const done = maxOf(safe.get(partition), session.checkpoints.get(partition));
      if (!done || done.isBefore(position)) {
        all = false;
        break;
      }
    }
    if (all) return true;
    if (session.buffered > 0 || !session.caughtUp) return false;
    // Nothing unfinished: reached unless a matching event at or before `position` is still to come.
    for await (const next of this.options.store.readAll({
      fromPosition: session.lastSeen ?? 'start',
      filter: pump.reactor.filter,
      maxCount: 1,
    })) {
      return next.position.isAfter(position);
    }
    return true;
  }

  /** Stops reading, lets running handlers finish, checkpoints, and gives up this worker's leases. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopLagMetrics?.();
    for (const timer of [this.redriveTimer, this.pruneTimer]) if (timer) clearInterval(timer);
    await this.leases?.stop();
    await this.applying;
    await this.timers.wheel?.stop();
    await Promise.all([...this.pumps.values()].map((pump) => pump.halt()));
    await this.leases?.leave();
    if (this.ownsState) await this.state.close();
  }

  /**
   * Timers of every worker, by due time, a page at a time (default: pending ones).
   *
   * @example
   * const { items } = await runner.listTimers({ reactor: 'approval', status: 'pending' });
   */
  async listTimers(query: TimerQuery = {}): Promise<TimerPage> {
    if (query.reactor !== undefined) this.pumpOf(query.reactor);
    return this.timers.requireStore().listTimers(query);
  }

  /**
   * Cancels a pending or parked timer; false when there is none to cancel (unknown, sent, cancelled).
   *
   * @example
   * await runner.cancelTimer('approval', 'approval-order-7');
   */
  async cancelTimer(reactor: string, key: string): Promise<boolean> {
    this.pumpOf(reactor);
    return this.timers.requireStore().cancelTimer(reactor, key, (this.options.clock ?? systemClock).now());
  }

  /**
   * Sends a parked timer again, now (the worker holding its partition fires it); false when it is not parked.
   *
   * @example
   * await runner.redriveParkedTimer('approval', 'approval-order-7');
   */
  async redriveParkedTimer(reactor: string, key: string): Promise<boolean> {
    this.pumpOf(reactor);
    const redriven = await this.timers.requireStore().redriveTimer(reactor, key, (this.options.clock ?? systemClock).now());
    if (redriven) await this.timers.wheel?.wake();
    return redriven;
  }

  /**
   * Resolves once this worker has sent (or parked) every timer that is due now in its partitions.
   *
   * @example
   * clock.advance(300_000);
   * await runner.timersSettled();
   */
  async timersSettled(): Promise<void> {
    await this.timers.wheel?.wake();
    await this.timers.wheel?.settled();
    // Their attempts are in the invocation log by then.
    await Promise.all([...this.pumps.values()].map((pump) => pump.flushInvocations()));
  }

  private pumpOf(name: string): ReactorPump {
    const pump = this.pumps.get(name);
    if (!pump) throw new UnknownReactorError(name);
    return pump;
  }
}

function checkOptions(options: ReactorRunnerOptions): void {
  if (typeof options !== 'object' || options === null) throw new InvalidReactorError('ReactorRunner.start needs options');
  const store = options.store as EventStore | undefined;
  if (!store || typeof store.subscribeToAll !== 'function') throw new InvalidReactorError('options.store must be an event store');
  if (!Array.isArray(options.reactors)) throw new InvalidReactorError('options.reactors must be a list of reactors');
  const integer = (field: string, value: number | undefined, min: number, max: number): void => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
      throw new InvalidReactorError(`${field} must be an integer from ${min} to ${max}, got ${String(value)}`);
    }
  };
  integer('partitions.count', options.partitions?.count, 1, 4_096);
  integer('partitions.leaseMs', options.partitions?.leaseMs, 300, 3_600_000);
  integer('checkpointIntervalMs', options.checkpointIntervalMs, 1, 60_000);
  integer('bufferSize', options.bufferSize, 1, 1_000_000);
  integer('redrivePollMs', options.redrivePollMs, 10, 3_600_000);
  integer('invocationLog.retentionMs', options.invocationLog?.retentionMs, 0, 3_650 * 86_400_000);
  const group = options.partitions?.group;
  if (group !== undefined && (typeof group !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(group))) {
    throw new InvalidReactorError('partitions.group must be 1-100 letters, digits, ".", "-" or "_"');
  }
  if (options.workerId !== undefined && (typeof options.workerId !== 'string' || options.workerId.length === 0 || options.workerId.length > 200)) {
    throw new InvalidReactorError('workerId must be a non-empty string of at most 200 characters');
  }
}

function checkLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new InvalidReactorError(`limit must be an integer from 1 to 10000, got ${String(limit)}`);
  return limit;
}

function maxOf(a: Position | undefined, b: Position | undefined): Position | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.isAfter(b) ? a : b;
}

