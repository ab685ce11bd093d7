import { backoffDelay } from '../internal/backoff';
import type { CommandEnvironment } from '../commands/handle-command';
import type { EventStore } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { followStore, type FollowPolicy, type FollowRun } from '../internal/follow-store';
import { errorInfo, type ReactorErrorInfo } from './errors';
import { PumpSession } from './pump-session';
import type { ReactorLogger, ResolvedReactor } from './reactor';
import type { TimerScheduling } from './timer-runtime';
import type { Invocation, ReactorStateStore } from './reactor-state-store';

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
  /** Where `context.schedule` writes (see timer-runtime.ts). */
  readonly timers: TimerScheduling;
}

const MAX_BUFFERED_INVOCATIONS = 200_000;
/** Most handled records a session reads at its start (see `loadHandled`). */
const MAX_HANDLED_LOADED = 100_000;
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
        this.environment.logger.error({ reactor: this.reactor.name, error: errorInfo(error) }, 'reactor subscription failed; restarting it');
        // A broken subscription resumes from the checkpoints through a fresh session.
        return {
          kind: 'retry',
          delayMs: backoffDelay({ initialDelayMs: RESTART_DELAY_MS, maxDelayMs: RESTART_MAX_DELAY_MS, jitter: 'equal' }, attempt, this.environment.random),
        };
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
    const handled = await this.loadHandled(partitions);
    const held = new Map<number, Position>();
    for (const partition of partitions) {
      const position = checkpoints.get(partition);
      if (position) held.set(partition, position);
    }
    const session = new PumpSession(this, this.reactor, this.environment, partitions, held, new Set(blocked), handled);
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

  /**
   * Events past the checkpoints recorded as handled with their timers (a crash came before the checkpoint
   * passed them): the session skips them, so their handlers do not schedule again. Read up to a bound;
   * beyond it events are handled again, their timers kept single by the version rule.
   */
  private async loadHandled(partitions: ReadonlySet<number>): Promise<Set<string>> {
    const { state, timers } = this.environment;
    if (!timers.recordsProgress || !state.handledAfterCheckpoints) return new Set();
    const positions = await state.handledAfterCheckpoints(this.reactor.name, [...partitions], MAX_HANDLED_LOADED);
    if (positions.length >= MAX_HANDLED_LOADED) {
      this.environment.logger.warn({ reactor: this.reactor.name, loaded: positions.length }, 'more handled events past the checkpoint than loaded; later ones are handled again');
    }
    return new Set(positions);
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
    else this.environment.logger.warn({ reactor: this.reactor.name }, 'invocation log buffer full: an attempt was not recorded');
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
      this.environment.logger.warn({ reactor: this.reactor.name, error: errorInfo(error) }, 'could not write the invocation log; will retry');
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
