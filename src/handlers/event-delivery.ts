import { backoffDelay } from '../internal/backoff';
import { setMaxListeners } from 'node:events';
import type { CommandEnvironment } from '../commands/handle-command';
import type { RecordedEvent } from '../event-store/event-store';
import { delay } from '../internal/delay';
import { errorInfo, toError, type ReactorErrorInfo } from './errors';
import { withFields } from '../internal/logger';
import { recordReactorAttempt, traceReactorAttempt } from '../internal/telemetry';
import type { DeliveryInfo, ReactorContext, ReactorLogger, ResolvedReactor } from './reactor';
import type { PumpEnvironment, ReactorPump } from './reactor-pump';
import type { Invocation, ParkedEvent } from './reactor-state-store';
import { commandSender } from './send-command';
import { partitionOf } from './partitions';
import type { TimerScheduler } from './timer-scheduler';
import type { HandledEvent } from './timer-store';
import type { TimerScheduling } from './timer-runtime';

type Outcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'parked'; readonly attempts: number; readonly error: ReactorErrorInfo }
  | { readonly kind: 'aborted' };

/**
 * Delivers events to one reactor's handler for one session: attempts with backoff, parks what keeps
 * failing (and, in `per-stream` mode, what waits behind a parked event of its stream), redrives parked
 * events, and logs every attempt. Bookkeeping writes are retried until they succeed or the session ends.
 */
export class EventDelivery {
  constructor(
    private readonly pump: ReactorPump,
    private readonly reactor: ResolvedReactor,
    private readonly environment: PumpEnvironment,
    private readonly abort: AbortController,
    /** Streams with a parked event (`per-stream`): their later events wait behind it. */
    private readonly blocked: Set<string>,
  ) {
    // Every running handler (and retry wait) listens to this one signal.
    setMaxListeners(0, abort.signal);
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

  get timers(): TimerScheduling {
    return this.environment.timers;
  }

  get partitionCount(): number {
    return this.environment.partitionCount;
  }

  /** Handles a live event; marks it done (checkpointable) once it is handled or parked. */
  async runEvent(event: RecordedEvent, partition: number, entry: { done: boolean }): Promise<void> {
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
    const outcome = await this.attempt(event, partition);
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
      this.environment.logger.warn({ reactor: this.reactor.name, eventId: event.id, streamName: event.streamName, error: outcome.error }, 'event parked');
    }
    entry.done = true;
  }

  /** Runs a stream's stored events in order: redriven ones and those waiting behind them. */
  async redriveStream(streamName: string): Promise<void> {
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

  async redriveEvent(parked: ParkedEvent): Promise<void> {
    const outcome = await this.attempt(parked.event);
    if (outcome.kind === 'aborted') return;
    if (outcome.kind === 'parked') {
      await this.persist(() => this.environment.state.repark(this.reactor.name, parked.event.id, outcome.attempts, outcome.error));
      return;
    }
    await this.persist(() => this.environment.state.removeParked(this.reactor.name, parked.event.id));
  }

  /**
   * Attempts with backoff until success, parking, or the session ending. `partition` is given for a live
   * event: its timer changes are then written with its record as handled (a redriven event, behind the
   * checkpoint already, relies on the version rule).
   */
  private async attempt(event: RecordedEvent, partition?: number): Promise<Outcome> {
    const { retry } = this.reactor;
    const firstAttemptAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.abort.signal.aborted) return { kind: 'aborted' };
      const started = performance.now();
      try {
        const context = new DeliveryContext(this.reactor.name, event, { attempt, maxAttempts: retry.maxAttempts }, this);
        await traceReactorAttempt(this.reactor.name, event, attempt, async () => {
          await this.reactor.handle(event, context);
          // Timers the handler set are stored with the attempt's success, inside its span.
          await context.commitTimers(
            partition === undefined ? undefined : { reactor: this.reactor.name, partition, position: event.position.toString(), eventId: event.id },
          );
        });
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
        let wait = backoffDelay({ initialDelayMs: retry.initialDelayMs, maxDelayMs: retry.maxDelayMs, jitter: 'equal' }, attempt, this.environment.random);
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
    recordReactorAttempt(this.reactor.name, outcome);
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
        this.environment.logger.warn({ reactor: this.reactor.name, error: errorInfo(error) }, 'reactor bookkeeping failed; retrying');
        await delay(Math.min(5_000, 50 * 2 ** Math.min(attempt, 10)), this.abort.signal);
      }
    }
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

  private scheduler: TimerScheduler | undefined;

  private timerScheduler(): TimerScheduler {
    return (this.scheduler ??= this.session.timers.scheduler(this.reactorName, this.event, partitionOf(this.event.streamName, this.session.partitionCount)));
  }

  schedule: ReactorContext['schedule'] = (aggregate, request, when) => this.timerScheduler().schedule(aggregate, request, when);

  cancelSchedule: ReactorContext['cancelSchedule'] = (key) => this.timerScheduler().cancel(key);

  /**
   * Writes the timers the handler set or cancelled (after it succeeded, before the event counts as
   * done), with the event's record as handled when given and the stores share a database.
   */
  async commitTimers(handled: HandledEvent | undefined): Promise<void> {
    if (this.scheduler && this.scheduler.changes.length > 0) await this.session.timers.commit(this.scheduler.changes, handled, this.event);
  }
}

interface PumpSessionView {
  readonly signal: AbortSignal;
  readonly logger: ReactorLogger;
  readonly commands: CommandEnvironment;
  readonly timers: TimerScheduling;
  readonly partitionCount: number;
}
