import type { EventStore, RecordedEvent, Subscription } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { BatchReader } from './batch-reader';
import { errorInfo, failureInfo } from './error-info';
import { handleBatch } from './handle-batch';
import { CheckpointConflictError, ReadModelUnavailableError } from './errors';
import type { ProgressSignal } from './progress-signal';
import type { AnyProjection } from './projection';
import type { ProjectionErrorInfo, ProjectionState, SlotStatus } from './projection-status';
import type { ProjectionFailure, ReadModelStore, SlotLayout } from './read-model-store';
import { followStore, type FollowRun, type FollowVerdict } from '../internal/follow-store';
import { retryDelay, type RetryPolicy } from './retry-policy';
import { traceProjectionBatch } from '../internal/telemetry';
import { isTransientError } from './transient-error';

/** What the engine needs of the event store. */
export type ProjectionEventSource = Pick<EventStore, 'subscribeToAll' | 'readAll' | 'headPosition' | 'backend' | 'capabilities'>;

export interface SlotRunnerOptions {
  readonly definition: AnyProjection;
  readonly layout: SlotLayout;
  readonly eventStore: ProjectionEventSource;
  readonly store: ReadModelStore;
  readonly batchSize: number;
  readonly retry: RetryPolicy;
  /** Told after every commit, before the next batch is read. */
  readonly onCommitted: (runner: SlotRunner, keys: readonly string[], position: Position) => void;
  /** Told on every state change, commit and probe that moved the covered position. */
  readonly progress: ProgressSignal;
  readonly onFailed: (runner: SlotRunner, error: unknown) => void;
}

/** A handler or write failure pinned to the event that caused it. */
class PoisonEvent extends Error {
  constructor(
    readonly event: RecordedEvent,
    readonly error: unknown,
  ) {
    super(`event ${event.id} could not be handled`, { cause: error });
  }
}

/**
 * Runs one slot of one projection: subscribes from the slot's checkpoint, hands batches to the
 * handler, commits each batch with its checkpoint, retries database failures with backoff and stops
 * on an event the handler cannot take.
 */
export class SlotRunner {
  readonly layout: SlotLayout;
  private stateValue: ProjectionState = 'stopped';
  private checkpointValue: Position | undefined;
  /** Every event of the projection's types up to here is committed (at least the checkpoint). */
  private covered: Position | undefined;
  private eventsHandledValue = 0;
  private lastErrorValue: ProjectionErrorInfo | undefined;
  private retryValue: SlotStatus['retry'];
  private abort = new AbortController();
  private running: Promise<void> | undefined;
  private restartWhenDone = false;
  private subscription: Subscription | undefined;
  private probing: Promise<RecordedEvent | undefined> | undefined;
  private lastHead: Position | undefined;
  private indexed = false;

  constructor(private readonly options: SlotRunnerOptions) {
    this.layout = options.layout;
  }

  get state(): ProjectionState {
    return this.stateValue;
  }

  get checkpoint(): Position | undefined {
    return this.checkpointValue;
  }

  get eventsHandled(): number {
    return this.eventsHandledValue;
  }

  get lastError(): ProjectionErrorInfo | undefined {
    return this.lastErrorValue;
  }

  /** How far the slot has covered the store, and the store's head when last asked. */
  get coverage(): { readonly covered: Position | undefined; readonly head: Position | undefined } {
    return { covered: this.covered, head: this.lastHead };
  }

  /** Whether every event of the projection's types up to `position` is committed. */
  covers(position: Position): boolean {
    return this.covered !== undefined && !position.isAfter(this.covered);
  }

  /**
   * Records a batch committed inline (in an append's transaction) by this process: the runner then
   * skips those events when its subscription delivers them.
   */
  advanceInline(position: Position, eventCount: number): void {
    if (this.checkpointValue && !position.isAfter(this.checkpointValue)) return;
    this.checkpointValue = position;
    if (!this.covered || position.isAfter(this.covered)) this.covered = position;
    this.eventsHandledValue += eventCount;
    this.options.progress.notify();
  }

  /** Starts (or, after a failure or stop, restarts from the stored checkpoint). */
  start(): void {
    if (this.running) {
      // A loop that stopped on a failure may still be closing its subscription: start again once it has.
      if (this.stateValue === 'failed') {
        this.restartWhenDone = true;
        this.setState('catching-up');
      }
      return;
    }
    this.abort = new AbortController();
    // At once, so that nobody sees the failed state of before the restart.
    this.setState('catching-up');
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.restartWhenDone) {
        this.restartWhenDone = false;
        this.start();
      }
    });
  }

  async stop(): Promise<void> {
    this.restartWhenDone = false;
    this.abort.abort();
    await this.subscription?.close();
    await this.running;
    if (this.stateValue !== 'failed') this.setState('stopped');
  }

  /**
   * Finds the first event of the projection's types after the checkpoint. When there is none up to
   * the store's head, everything up to the head is covered even though the checkpoint (which only
   * moves on handled events) is behind it: that is what lets a wait for the position of an event of
   * another type finish.
   */
  probe(): Promise<RecordedEvent | undefined> {
    this.probing ??= this.runProbe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  /** This slot's status; asks the store how far behind it is. */
  async status(): Promise<SlotStatus> {
    let pending: RecordedEvent | undefined;
    let lagKnown = true;
    try {
      pending = await this.probe();
    } catch {
      lagKnown = false;
    }
    const head = this.lastHead;
    const behind = pending !== undefined || (head !== undefined && !this.covers(head));
    return {
      version: this.layout.version,
      state: this.stateValue,
      position: this.checkpointValue,
      eventsHandled: this.eventsHandledValue,
      lagEvents: !lagKnown ? undefined : behind ? this.sequenceGap(this.covered, head) : 0,
      lagMs: pending ? Math.max(0, Date.now() - pending.recordedAt.getTime()) : 0,
      lastError: this.lastErrorValue,
      retry: this.retryValue,
    };
  }

  /** Events in the store between two positions, for the backends whose positions are sequences. */
  sequenceGap(from: Position | undefined, to: Position | undefined): number | undefined {
    if (!this.options.eventStore.capabilities.sequencePositions) return undefined;
    if (!to) return 0;
    const gap = to.prepare - (from?.prepare ?? 0n);
    return gap > 0n ? Number(gap) : 0;
  }

  private async loop(): Promise<void> {
    const { signal } = this.abort;
    const end = await followStore(
      this.options.eventStore,
      {
        filter: { eventTypes: this.options.definition.eventTypes },
        open: () => this.openRun(),
        onFailure: (error, attempt) => this.onFailure(error, attempt),
      },
      signal,
    );
    if (end === 'aborted') this.setState('stopped');
  }

  /** Policy: read model and checkpoint commit together, so a run resumes from the stored checkpoint. */
  private async openRun(): Promise<FollowRun> {
    await this.loadCheckpoint();
    this.setState('catching-up');
    return {
      from: this.checkpointValue ?? 'start',
      consume: (subscription, progressed) => this.consume(subscription, progressed),
    };
  }

  private async consume(subscription: Subscription, progressed: () => void): Promise<void> {
    const { signal } = this.abort;
    this.subscription = subscription;
    try {
      const reader = new BatchReader(subscription, this.options.definition.batchSize ?? this.options.batchSize);
      for (let step = await reader.next(); step && !signal.aborted; step = await reader.next()) {
        if (step.kind === 'caught-up') {
          // Indexes are built once the slot holds its history (cheaper than maintaining them through
          // a rebuild), and before it reports live, so a live slot (and a switch-over) has them.
          if (!this.indexed) {
            await this.options.store.indexSlot(this.layout);
            this.indexed = true;
          }
          this.setState('live');
          continue;
        }
        await this.process(step.events);
        progressed();
        this.retryValue = undefined;
        // A full batch means more history is waiting: let the event loop serve queries and appends
        // before the next one, so a long rebuild never starves the process.
        if (!step.idle) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.subscription = undefined;
    }
  }

  /** Policy: a poison event or a non-transient failure stops the slot; the database's failures back off. */
  private async onFailure(error: unknown, attempt: number): Promise<FollowVerdict> {
    // Another writer (an inline commit, another process) moved the checkpoint: read on from there at once.
    if (error instanceof CheckpointConflictError) return { kind: 'resume-now' };
    if (error instanceof PoisonEvent) {
      await this.fail(error.error, error.event);
      return { kind: 'stop' };
    }
    if (!isTransientError(error)) {
      await this.fail(error, undefined);
      return { kind: 'stop' };
    }
    const delayMs = retryDelay(this.options.retry, attempt);
    this.lastErrorValue = errorInfo(error, undefined);
    this.retryValue = { attempt, nextAttemptAt: new Date(Date.now() + delayMs) };
    this.setState('catching-up');
    this.options.progress.notify();
    return { kind: 'retry', delayMs };
  }

  private async loadCheckpoint(): Promise<void> {
    const record = await this.options.store.load(this.layout.projection);
    const slot = record.slots.find((candidate) => candidate.version === this.layout.version && candidate.generation === this.layout.generation);
    if (!slot) throw new ReadModelUnavailableError(`slot ${this.layout.id} of "${this.layout.projection}" is missing`);
    this.checkpointValue = slot.position;
    if (slot.position && (!this.covered || slot.position.isAfter(this.covered))) this.covered = slot.position;
    this.eventsHandledValue = slot.eventsHandled;
    if (slot.failure && !this.lastErrorValue) this.lastErrorValue = failureInfo(slot.failure);
  }

  private async process(delivered: RecordedEvent[]): Promise<void> {
    // Events already applied inline (or by a commit this runner learnt of) are not handled twice.
    const checkpoint = this.checkpointValue;
    const events = checkpoint ? delivered.filter((event) => event.position.isAfter(checkpoint)) : delivered;
    if (events.length === 0) return;
    try {
      await this.commit(events);
      return;
    } catch (error) {
      if (isTransientError(error)) throw error;
      if (events.length === 1) throw new PoisonEvent(events[0]!, error);
    }
    // Something in the batch failed: replay it one event per transaction, so the events before the
    // culprit are committed and the culprit is known. Nothing is skipped.
    for (const event of events) {
      try {
        await this.commit([event]);
      } catch (error) {
        if (isTransientError(error)) throw error;
        throw new PoisonEvent(event, error);
      }
    }
  }

  private async commit(events: RecordedEvent[]): Promise<void> {
    const last = events[events.length - 1]!;
    const { definition } = this.options;
    const result = await traceProjectionBatch(definition.name, events, () =>
      this.options.store.commitBatch(
        this.layout,
        { from: this.checkpointValue, to: last.position, eventCount: events.length },
        (tx) => handleBatch(definition, events, tx),
      ),
    );
    this.checkpointValue = last.position;
    if (!this.covered || last.position.isAfter(this.covered)) this.covered = last.position;
    this.eventsHandledValue += events.length;
    this.options.onCommitted(this, result.keys, last.position);
    this.options.progress.notify();
  }

  private async fail(error: unknown, event: RecordedEvent | undefined): Promise<void> {
    this.lastErrorValue = errorInfo(error, event);
    this.retryValue = undefined;
    this.setState('failed');
    this.options.onFailed(this, error);
    if (!event) return;
    const failure: ProjectionFailure = {
      eventId: event.id,
      eventType: event.type,
      streamName: event.streamName,
      position: event.position.toString(),
      error: { name: this.lastErrorValue.name, code: this.lastErrorValue.code, message: this.lastErrorValue.message },
      failedAt: this.lastErrorValue.at.toISOString(),
    };
    // Best effort: when the database is what failed, the in-memory status still tells.
    await this.options.store.recordFailure(this.layout, failure).catch(() => undefined);
  }

  private async runProbe(): Promise<RecordedEvent | undefined> {
    const { eventStore, definition } = this.options;
    const head = await eventStore.headPosition();
    this.lastHead = head;
    if (!head) return undefined;
    let first: RecordedEvent | undefined;
    for await (const event of eventStore.readAll({
      fromPosition: this.checkpointValue ?? 'start',
      filter: { eventTypes: definition.eventTypes },
      maxCount: 1,
    })) {
      first = event;
    }
    if ((!first || first.position.isAfter(head)) && (!this.covered || head.isAfter(this.covered))) {
      this.covered = head;
      this.options.progress.notify();
    }
    return first;
  }

  private setState(state: ProjectionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.options.progress.notify();
  }
}
