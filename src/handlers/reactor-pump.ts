import { delay } from '../internal/delay';
import { followStore, type FollowPolicy, type FollowRun } from '../internal/follow-store';
import { setMaxListeners } from 'node:events';
import type { CommandEnvironment } from '../commands/handle-command';
import type { EventStore, RecordedEvent, Subscription } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { CheckpointTracker } from './checkpoint-tracker';
import { errorInfo, toError, type ReactorErrorInfo } from './errors';
import { withFields } from './logger';
import { partitionOf } from './partitions';
import { matchesFilter, type DeliveryInfo, type ReactorContext, type ReactorLogger, type ResolvedReactor } from './reactor';
import type { Invocation, ParkedEvent, ReactorStateStore } from './reactor-state-store';
import { commandSender } from './send-command';

/** What a pump shares with the runner. */
export interface PumpEnvironment {
  readonly store: EventStore;
  readonly state: ReactorStateStore;
  readonly commands: CommandEnvironment;
  readonly workerId: string;
  readonly group: string;
  readonly partitionCount: number;
  /** Checkpoint writes are fenced by the worker's leases. */
  readonly fenced: boolean;
  readonly checkpointIntervalMs: number;
  readonly bufferSize: number;
  readonly logger: ReactorLogger;
  readonly random: () => number;
  /** Called when a fenced checkpoint write found a lease gone. */
  readonly onLeaseLost: (partitions: readonly number[]) => void;
}

type Job =
  | { readonly kind: 'event'; readonly event: RecordedEvent; readonly partition: number; readonly entry: { done: boolean } }
  | { readonly kind: 'redrive-stream'; readonly streamName: string }
  | { readonly kind: 'redrive-event'; readonly parked: ParkedEvent };

interface Lane {
  readonly key: string | undefined;
  readonly jobs: Job[];
  running: boolean;
}

type Outcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'parked'; readonly attempts: number; readonly error: ReactorErrorInfo }
  | { readonly kind: 'aborted' };

const MAX_BUFFERED_INVOCATIONS = 200_000;
/** A failed subscription is opened again after this, doubling per failure in a row up to the maximum. */
const RESTART_DELAY_MS = 500;
const RESTART_MAX_DELAY_MS = 30_000;

/** Counters kept across sessions, for status. */
export interface PumpCounters {
  handled: number;
  failedAttempts: number;
  lastError: { at: Date; eventId: string; error: ReactorErrorInfo } | undefined;
}

/**
 * One reactor in one worker: follows the store from the lowest checkpoint of the partitions it holds,
 * runs handlers (per-stream lanes or unordered) with retries and parking, and checkpoints finished
 * work. A change of partitions ends the session and starts a new one from the checkpoints.
 */
export class ReactorPump {
  readonly counters: PumpCounters = { handled: 0, failedAttempts: 0, lastError: undefined };
  private session: PumpSession | undefined;
  private following: { readonly abort: AbortController; readonly done: Promise<unknown> } | undefined;
  private invocations: Invocation[] = [];
  private readonly progressListeners = new Set<() => void>();
  private progressScheduled = false;

  constructor(
    readonly reactor: ResolvedReactor,
    private readonly environment: PumpEnvironment,
  ) {}

  get partitions(): ReadonlySet<number> {
    return this.session?.partitions ?? new Set();
  }

  get active(): PumpSession | undefined {
    return this.session;
  }

  /** Starts following the store for these partitions (none: idle). */
  async run(partitions: ReadonlySet<number>): Promise<void> {
    if (this.following) await this.halt();
    if (partitions.size === 0) return;
    const abort = new AbortController();
    const policy: FollowPolicy = {
      filter: this.reactor.filter,
      open: () => this.openSession(partitions, abort.signal),
      onFailure: (error, attempt) => {
        this.environment.logger.error('reactor subscription failed; restarting it', { reactor: this.reactor.name, error: errorInfo(error) });
        // A broken subscription resumes from the checkpoints through a fresh session.
        return { kind: 'retry', delayMs: Math.min(RESTART_MAX_DELAY_MS, RESTART_DELAY_MS * 2 ** Math.min(attempt - 1, 10)) };
      },
    };
    // The first session opens here, so that a state store that cannot be read fails the caller.
    const opened = await this.openSession(partitions, abort.signal);
    this.following = { abort, done: followStore(this.environment.store, policy, abort.signal, { opened }) };
  }

  /** Policy: at-least-once; a session reads from the lowest checkpoint of its partitions and checkpoints finished work. */
  private async openSession(partitions: ReadonlySet<number>, signal: AbortSignal): Promise<FollowRun> {
    const checkpoints = await this.environment.state.loadCheckpoints(this.reactor.name);
    const blocked =
      this.reactor.ordering === 'per-stream' ? await this.environment.state.blockedStreams(this.reactor.name, [...partitions]) : [];
    const held = new Map<number, Position>();
    for (const partition of partitions) {
      const position = checkpoints.get(partition);
      if (position) held.set(partition, position);
    }
    const session = new PumpSession(this, this.reactor, this.environment, partitions, held, new Set(blocked));
    // A halt that came while the checkpoints loaded has made this session stale already.
    if (!signal.aborted) this.session = session;
    const interrupt = (): void => session.interrupt();
    signal.addEventListener('abort', interrupt, { once: true });
    return {
      from: session.start(),
      consume: (subscription, progressed) => session.read(subscription, progressed),
      close: async () => {
        signal.removeEventListener('abort', interrupt);
        await session.halt();
      },
    };
  }

  /** Ends the session: stops reading, lets running handlers finish, checkpoints what finished. */
  async halt(): Promise<void> {
    const following = this.following;
    if (!following) return;
    this.following = undefined;
    this.session = undefined;
    following.abort.abort();
    await following.done;
    await this.flushInvocations();
  }

  /** Looks for redrive requests among this session's partitions. */
  pollRedrives(): Promise<void> {
    return this.session?.pollRedrives() ?? Promise.resolve();
  }

  record(invocation: Invocation): void {
    if (this.invocations.length < MAX_BUFFERED_INVOCATIONS) this.invocations.push(invocation);
    else this.environment.logger.warn('invocation log buffer full: an attempt was not recorded', { reactor: this.reactor.name });
  }

  async flushInvocations(): Promise<void> {
    if (this.invocations.length === 0) return;
    const batch = this.invocations;
    this.invocations = [];
    try {
      await this.environment.state.recordInvocations(batch);
    } catch (error) {
      // Kept for the next flush: the log is written late rather than not at all.
      this.invocations = batch.concat(this.invocations).slice(0, MAX_BUFFERED_INVOCATIONS);
      this.environment.logger.warn('could not write the invocation log; will retry', { reactor: this.reactor.name, error: errorInfo(error) });
    }
  }

  onProgress(listener: () => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  /** Tells waiters that work finished; coalesced to once per event-loop turn (it fires per event). */
  notifyProgress(): void {
    if (this.progressScheduled || this.progressListeners.size === 0) return;
    this.progressScheduled = true;
    setImmediate(() => {
      this.progressScheduled = false;
      for (const listener of this.progressListeners) listener();
    });
  }
}

/** One run of a pump over a fixed set of partitions. */
export class PumpSession {
  private readonly abort = new AbortController();
  readonly tracker: CheckpointTracker;
  private readonly lanes = new Map<string, Lane>();
  private readonly ready: Lane[] = [];
  private readyHead = 0;
  inFlight = 0;
  buffered = 0;
  caughtUp = false;
  private space: (() => void) | undefined;
  private idle: (() => void) | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly redrivesQueued = new Set<string>();
  /** Where reading resumes: the lowest checkpoint, or the start. */
  lastSeen: Position | undefined;

  constructor(
    private readonly pump: ReactorPump,
    private readonly reactor: ResolvedReactor,
    private readonly environment: PumpEnvironment,
    readonly partitions: ReadonlySet<number>,
    /** Stored checkpoints; only ever move forwards. */
    readonly checkpoints: Map<number, Position>,
    private readonly blocked: Set<string>,
  ) {
    this.tracker = new CheckpointTracker(partitions);
    // Every running handler (and retry wait) listens to this one signal.
    setMaxListeners(0, this.abort.signal);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get logger(): ReactorLogger {
    return this.environment.logger;
  }

  get commands(): CommandEnvironment {
    return this.environment.commands;
  }

  /** Events queued or running. */
  get queued(): number {
    return this.buffered - this.inFlight;
  }

  /** Starts the session's timers; returns where its subscription starts: the lowest checkpoint, or the start. */
  start(): Position | 'start' {
    let from: Position | undefined;
    let all = true;
    for (const partition of this.partitions) {
      const position = this.checkpoints.get(partition);
      if (!position) {
        all = false;
        break;
      }
      if (!from || position.isBefore(from)) from = position;
    }
    this.flushTimer = setInterval(() => void this.flush(), this.environment.checkpointIntervalMs);
    this.flushTimer.unref?.();
    void this.pollRedrives();
    return all && from ? from : 'start';
  }

  async read(subscription: Subscription, progressed: () => void): Promise<void> {
    const { partitionCount } = this.environment;
    for await (const message of subscription) {
      if (this.abort.signal.aborted) break;
      progressed();
      if (message.kind === 'caught-up') {
        this.caughtUp = true;
        this.pump.notifyProgress();
        continue;
      }
      const event = message.event;
      const partition = partitionOf(event.streamName, partitionCount);
      const stored = this.checkpoints.get(partition);
      if (!this.partitions.has(partition) || (stored && !event.position.isAfter(stored)) || !matchesFilter(this.reactor.filter, event)) {
        this.tracker.seen(event.position);
        this.lastSeen = event.position;
        continue;
      }
      const entry = this.tracker.begin(partition, event.position);
      this.lastSeen = event.position;
      this.enqueue({ kind: 'event', event, partition, entry });
      if (this.buffered >= this.environment.bufferSize) {
        await new Promise<void>((resolve) => (this.space = resolve));
        if (this.abort.signal.aborted) break;
      }
    }
  }

  private enqueue(job: Job): void {
    this.buffered++;
    const key = this.reactor.ordering === 'per-stream' ? streamOf(job) : undefined;
    let lane = key === undefined ? undefined : this.lanes.get(key);
    if (!lane) {
      lane = { key, jobs: [], running: false };
      if (key !== undefined) this.lanes.set(key, lane);
      lane.jobs.push(job);
      this.ready.push(lane);
    } else {
      lane.jobs.push(job);
    }
    this.schedule();
  }

  private schedule(): void {
    while (this.inFlight < this.reactor.concurrency && this.readyHead < this.ready.length && !this.abort.signal.aborted) {
      const lane = this.ready[this.readyHead++]!;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready.splice(0, this.readyHead);
        this.readyHead = 0;
      }
      const job = lane.jobs.shift()!;
      lane.running = true;
      this.inFlight++;
      void this.runJob(job).then(
        () => this.finished(lane),
        (error: unknown) => {
          this.environment.logger.error('reactor job failed unexpectedly', { reactor: this.reactor.name, error: errorInfo(error) });
          this.finished(lane);
        },
      );
    }
  }

  private finished(lane: Lane): void {
    this.inFlight--;
    this.buffered--;
    lane.running = false;
    if (lane.jobs.length > 0) this.ready.push(lane);
    else if (lane.key !== undefined) this.lanes.delete(lane.key);
    if (this.space && this.buffered < this.environment.bufferSize / 2) {
      const resume = this.space;
      this.space = undefined;
      resume();
    }
    this.schedule();
    if (this.inFlight === 0 && this.idle) this.idle();
    this.pump.notifyProgress();
  }

  private async runJob(job: Job): Promise<void> {
    switch (job.kind) {
      case 'event':
        return this.runEvent(job.event, job.partition, job.entry);
      case 'redrive-stream':
        return this.redriveStream(job.streamName);
      case 'redrive-event':
        return this.redriveEvent(job.parked);
      default: {
        const _never: never = job;
        return _never;
      }
    }
  }

  private async runEvent(event: RecordedEvent, partition: number, entry: { done: boolean }): Promise<void> {
    if (this.reactor.ordering === 'per-stream' && this.blocked.has(event.streamName)) {
      const parkAlso = this.reactor.whenStreamBlocked === 'park';
      const stored = await this.persist(() =>
        this.environment.state.park([
          {
            reactor: this.reactor.name,
            event,
            partition,
            status: parkAlso ? 'parked' : 'waiting',
            attempts: 0,
            error: {
              name: 'StreamBlocked',
              code: 'STREAM_BLOCKED',
              message: `stream ${event.streamName} has a parked event before this one`,
            },
            parkedAt: new Date(),
          },
        ]),
      );
      if (stored) entry.done = true;
      return;
    }
    const outcome = await this.attempt(event);
    if (outcome.kind === 'aborted') return;
    if (outcome.kind === 'parked') {
      const stored = await this.persist(() =>
        this.environment.state.park([
          {
            reactor: this.reactor.name,
            event,
            partition,
            status: 'parked',
            attempts: outcome.attempts,
            error: outcome.error,
            parkedAt: new Date(),
          },
        ]),
      );
      if (!stored) return;
      if (this.reactor.ordering === 'per-stream') this.blocked.add(event.streamName);
      this.environment.logger.warn('event parked', { reactor: this.reactor.name, eventId: event.id, streamName: event.streamName, error: outcome.error });
    }
    entry.done = true;
  }

  /** Runs a stream's stored events in order: redriven ones and those waiting behind them. */
  private async redriveStream(streamName: string): Promise<void> {
    this.redrivesQueued.delete(streamName);
    const rows = await this.persistRead(() => this.environment.state.parkedInStream(this.reactor.name, streamName));
    if (!rows) return;
    for (const row of rows) {
      if (row.status === 'parked' && !row.redriveRequested) return;
      const outcome = await this.attempt(row.event);
      if (outcome.kind === 'aborted') return;
      if (outcome.kind === 'parked') {
        await this.persist(() => this.environment.state.repark(this.reactor.name, row.event.id, outcome.attempts, outcome.error));
        return;
      }
      if (!(await this.persist(() => this.environment.state.removeParked(this.reactor.name, row.event.id)))) return;
    }
    // Everything stored for the stream went through; live events of it may run again. They queue in
    // this stream's lane behind this job, so none ran in between.
    const left = await this.persistRead(() => this.environment.state.parkedInStream(this.reactor.name, streamName));
    if (left && left.length === 0) this.blocked.delete(streamName);
  }

  private async redriveEvent(parked: ParkedEvent): Promise<void> {
    this.redrivesQueued.delete(parked.event.id);
    const outcome = await this.attempt(parked.event);
    if (outcome.kind === 'aborted') return;
    if (outcome.kind === 'parked') {
      await this.persist(() => this.environment.state.repark(this.reactor.name, parked.event.id, outcome.attempts, outcome.error));
      return;
    }
    await this.persist(() => this.environment.state.removeParked(this.reactor.name, parked.event.id));
  }

  async pollRedrives(): Promise<void> {
    if (this.abort.signal.aborted) return;
    let requested: ParkedEvent[];
    try {
      requested = await this.environment.state.redriveRequested(this.reactor.name, [...this.partitions], 1_000);
    } catch (error) {
      this.environment.logger.warn('could not look for redrive requests', { reactor: this.reactor.name, error: errorInfo(error) });
      return;
    }
    for (const parked of requested) {
      if (this.abort.signal.aborted) return;
      if (this.reactor.ordering === 'per-stream') {
        if (this.redrivesQueued.has(parked.event.streamName)) continue;
        this.redrivesQueued.add(parked.event.streamName);
        this.enqueue({ kind: 'redrive-stream', streamName: parked.event.streamName });
      } else {
        if (this.redrivesQueued.has(parked.event.id)) continue;
        this.redrivesQueued.add(parked.event.id);
        this.enqueue({ kind: 'redrive-event', parked });
      }
    }
  }

  /** Attempts with backoff until success, parking, or the session ending. */
  private async attempt(event: RecordedEvent): Promise<Outcome> {
    const { retry } = this.reactor;
    const firstAttemptAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.abort.signal.aborted) return { kind: 'aborted' };
      const started = performance.now();
      try {
        await this.reactor.handle(event, new DeliveryContext(this.reactor.name, event, { attempt, maxAttempts: retry.maxAttempts }, this));
        this.pump.counters.handled++;
        this.record(event, attempt, 'succeeded', started, undefined);
        return { kind: 'done' };
      } catch (thrown) {
        const error = toError(thrown);
        const info = errorInfo(error);
        this.pump.counters.failedAttempts++;
        this.pump.counters.lastError = { at: new Date(), eventId: event.id, error: info };
        if (this.abort.signal.aborted) {
          this.record(event, attempt, 'retrying', started, info);
          return { kind: 'aborted' };
        }
        const cap = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
        let wait = Math.round(cap / 2 + (cap / 2) * this.environment.random());
        const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
        if (typeof retryAfterMs === 'number' && retryAfterMs > 0) wait = Math.max(wait, Math.min(retryAfterMs, retry.maxDelayMs));
        const final =
          (error as { retryable?: unknown }).retryable === false ||
          attempt >= retry.maxAttempts ||
          Date.now() + wait - firstAttemptAt > retry.maxAgeMs;
        this.record(event, attempt, final ? 'parked' : 'retrying', started, info);
        if (final) return { kind: 'parked', attempts: attempt, error: info };
        await delay(wait, this.abort.signal);
      }
    }
  }

  private record(event: RecordedEvent, attempt: number, outcome: Invocation['outcome'], started: number, error: ReactorErrorInfo | undefined): void {
    this.pump.record({
      reactor: this.reactor.name,
      eventId: event.id,
      streamName: event.streamName,
      position: event.position.toString(),
      attempt,
      outcome,
      durationMs: performance.now() - started,
      ...(error ? { error } : {}),
      at: new Date(),
      workerId: this.environment.workerId,
    });
  }

  /** Runs a bookkeeping write until it succeeds; false when the session ended first. */
  private async persist(write: () => Promise<unknown>): Promise<boolean> {
    return (await this.persistRead(write)) !== undefined;
  }

  private async persistRead<T>(read: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      if (this.abort.signal.aborted) return undefined;
      try {
        const value = await read();
        return (value ?? (true as unknown)) as T;
      } catch (error) {
        this.environment.logger.warn('reactor bookkeeping failed; retrying', { reactor: this.reactor.name, error: errorInfo(error) });
        await delay(Math.min(5_000, 50 * 2 ** Math.min(attempt, 10)), this.abort.signal);
      }
    }
  }

  /** Writes the invocation log and the checkpoints of finished work. Serialised. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    await this.pump.flushInvocations();
    const changed = new Map<number, Position>();
    for (const [partition, position] of this.tracker.safePositions()) {
      const stored = this.checkpoints.get(partition);
      if (!stored || position.isAfter(stored)) changed.set(partition, position);
    }
    if (changed.size === 0) return;
    try {
      const fence = this.environment.fenced ? { group: this.environment.group, workerId: this.environment.workerId } : undefined;
      const lost = await this.environment.state.saveCheckpoints(this.reactor.name, changed, fence);
      for (const [partition, position] of changed) if (!lost.includes(partition)) this.checkpoints.set(partition, position);
      if (lost.length > 0) this.environment.onLeaseLost(lost);
    } catch (error) {
      this.environment.logger.warn('could not save checkpoints; will retry', { reactor: this.reactor.name, error: errorInfo(error) });
    }
    this.pump.notifyProgress();
  }

  /** Stops reading and handling: running handlers see the signal, a reader waiting for space wakes. */
  interrupt(): void {
    this.abort.abort();
    this.space?.();
  }

  /** Ends the session once its subscription is closed: lets running handlers finish, checkpoints them. */
  async halt(): Promise<void> {
    this.interrupt();
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.flush();
  }
}

/** The context a handler gets; the logger and `send` are made only when used. */
class DeliveryContext implements ReactorContext {
  readonly idempotencyKey: string;
  private madeLogger: ReactorLogger | undefined;

  constructor(
    private readonly reactorName: string,
    private readonly event: RecordedEvent,
    readonly delivery: DeliveryInfo,
    private readonly session: PumpSessionView,
  ) {
    this.idempotencyKey = event.id;
  }

  get signal(): AbortSignal {
    return this.session.signal;
  }

  get logger(): ReactorLogger {
    return (this.madeLogger ??= withFields(this.session.logger, {
      reactor: this.reactorName,
      eventId: this.event.id,
      streamName: this.event.streamName,
      attempt: this.delivery.attempt,
    }));
  }

  send: ReactorContext['send'] = (aggregate, request) =>
    commandSender(this.session.commands, this.reactorName, this.event)(aggregate, request);
}

interface PumpSessionView {
  readonly signal: AbortSignal;
  readonly logger: ReactorLogger;
  readonly commands: CommandEnvironment;
}

function streamOf(job: Job): string {
  switch (job.kind) {
    case 'event':
      return job.event.streamName;
    case 'redrive-stream':
      return job.streamName;
    case 'redrive-event':
      return job.parked.event.streamName;
    default: {
      const _never: never = job;
      return _never;
    }
  }
}

