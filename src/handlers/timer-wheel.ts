import { handleCommand, type CommandEnvironment } from '../commands/handle-command';
import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import { backoffDelay } from '../internal/backoff';
import { delay } from '../internal/delay';
import { errorCategory, type ErrorCategory } from '../internal/eventfold-error';
import type { Logger } from '../internal/logger';
import { MAX_TIMEOUT_MS, type Clock } from './clock';
import { errorInfo, toError } from './errors';
import type { ReactorRetryPolicy } from './reactor';
import type { Invocation } from './reactor-state-store';
import { timerCommandId, type StoredTimer, type TimerSettlement, type TimerStore } from './timer-store';
import { WriteBatcher } from './write-batcher';

/** The reactor that owns a timer, as the wheel needs it: its retry policy and its invocation log. */
export interface TimerOwner {
  readonly retry: Required<ReactorRetryPolicy>;
  record(invocation: Invocation): void;
}

export interface TimerWheelSettings {
  readonly store: TimerStore;
  readonly clock: Clock;
  readonly commands: CommandEnvironment;
  readonly aggregates: ReadonlyMap<string, Aggregate<Message, Message, unknown>>;
  readonly owners: ReadonlyMap<string, TimerOwner>;
  readonly workerId: string;
  readonly logger: Logger;
  readonly random: () => number;
}

/** Failures that trying again cannot change: the timer is parked at once. */
const PERMANENT = new Set<ErrorCategory>(['validation', 'rule', 'not-found', 'already-exists']);

/** Most due timers read per look, and most sent at once. */
const BATCH = 256;
const MAX_IN_FLIGHT = 64;

/**
 * Fires the due timers of the partitions this worker holds. One clock timeout waits for the earliest
 * due time (no polling); it is recomputed whenever timers are set or cancelled here or the partitions
 * change, and a look that left due timers unsent looks again when a flight ends. Due timers are sent
 * concurrently (their commands share the store's group commit), each through `handleCommand` with an id
 * derived from the timer (a second firing appends nothing), with its reactor's retries; one that keeps
 * failing is parked (an operator redrives or cancels it). Every attempt goes to the reactor's invocation log.
 */
export class TimerWheel {
  private partitions: number[] = [];
  private armed: { cancel(): void } | undefined;
  private waking: Promise<void> | undefined;
  private again = false;
  /** Timers being sent, by reactor and key: the version sent and the attempt. */
  private readonly inFlight = new Map<string, { readonly version: string; readonly flight: Promise<void> }>();
  /** Looks started so far; numbers each look. */
  private looks = 0;
  /**
   * Timers whose flight ended while a look may have been reading: that look's answer can predate their
   * settlement, so it must not send them again. Keyed like `inFlight`, with the version sent and the look
   * count when the flight ended; pruned once a look that started later has read.
   */
  private readonly justSettled = new Map<string, { readonly version: string; readonly look: number }>();
  private abort = new AbortController();
  private stopped = false;
  private readonly idleWaiters = new Set<() => void>();
  /** Sent timers whose settlement is not written yet: their version and the write, by reactor and key. */
  private readonly settling = new Map<string, { readonly version: string; readonly written: Promise<void> }>();
  /** The last look left due timers unsent (too many in flight, or a full batch): a flight's end looks again. */
  private backlog = false;

  /** Settlements of timers sent at about the same time go in one write. */
  private readonly settlements: WriteBatcher<TimerSettlement>;

  constructor(private readonly settings: TimerWheelSettings) {
    this.settlements = new WriteBatcher((items) => settings.store.settleTimers(items));
  }

  /**
   * Records a sent (or parked) timer, in one write with the others settled in the same turn or while a
   * write is under way; until written, looks skip it. It is written at once, not later: the command's
   * own events may lead a reactor to cancel the timer, which must find it sent, not pending. One that
   * cannot be written leaves the timer pending: it fires again (same command id, no effect).
   */
  private settle(id: string, settlement: TimerSettlement): void {
    const written = this.settlements
      .add([settlement])
      .catch((error: unknown) => {
        this.settings.logger.warn({ reactor: settlement.reactor, key: settlement.key, error: errorInfo(error) }, 'could not record a sent timer; it will be sent again');
        this.backlog = true;
      })
      .finally(() => {
        if (this.settling.get(id)?.written === written) this.settling.delete(id);
        // A look reading while this was written may have read it pending: it must not send it again.
        this.justSettled.set(id, { version: settlement.version, look: this.looks });
        if (this.backlog && !this.stopped) void this.wake();
        this.notifyIdle();
      });
    this.settling.set(id, { version: settlement.version, written });
  }

  /**
   * Resolves once this timer, if it is being sent or was sent here, is recorded as sent. A handler that
   * changes the timer whose command caused its event (cancels it, say) must find it sent: changed while
   * still pending, it would be cancelled and its settlement lost. The command has run by then, so this
   * waits for a few steps at most.
   */
  async afterSending(reactor: string, key: string): Promise<void> {
    const id = `${reactor}\u0000${key}`;
    await this.inFlight.get(id)?.flight;
    await this.settling.get(id)?.written;
  }

  /**
   * Fires the timers of these partitions from now on. Timers being sent finish their attempt first, so
   * that a partition given up is not fired here while its next holder fires it too.
   */
  async setPartitions(partitions: ReadonlySet<number>): Promise<void> {
    this.partitions = [];
    this.abort.abort();
    this.abort = new AbortController();
    await this.waking;
    await Promise.all([...this.inFlight.values()].map((entry) => entry.flight));
    // Written before the partitions move: their next holder must not find sent timers pending.
    await this.settlements.flush();
    this.partitions = [...partitions].sort((a, b) => a - b);
    void this.wake();
  }

  /** Looks for due timers now and re-arms the timeout for the next one. Coalesced. */
  wake(): Promise<void> {
    if (this.waking) {
      this.again = true;
      return this.waking;
    }
    this.waking = (async () => {
      do {
        this.again = false;
        try {
          await this.look();
        } catch (error) {
          this.settings.logger.warn({ error: errorInfo(error) }, 'could not read due timers; will look again');
          if (!this.stopped) this.arm(1_000);
        }
      } while (this.again && !this.stopped);
      this.waking = undefined;
      this.notifyIdle();
    })();
    return this.waking;
  }

  /** Resolves once no look is running and no timer is being sent (due timers of this worker are settled). */
  async settled(): Promise<void> {
    while (this.waking || this.inFlight.size > 0 || this.settling.size > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.add(resolve));
    }
  }

  /** Stops waking; lets timers being sent finish their attempt. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.armed?.cancel();
    this.abort.abort();
    await this.waking;
    await Promise.all([...this.inFlight.values()].map((entry) => entry.flight));
    await this.settlements.flush();
  }

  private async look(): Promise<void> {
    this.armed?.cancel();
    this.armed = undefined;
    if (this.stopped || this.partitions.length === 0) return;
    const partitions = this.partitions;
    const now = this.settings.clock.now();
    const look = ++this.looks;
    // Both reads in one wait: on PostgreSQL one round trip instead of two before anything is sent.
    const [due, next] = await Promise.all([this.settings.store.dueTimers(partitions, now, BATCH), this.settings.store.nextDue(partitions, now)]);
    let started = 0;
    let leftDue = false;
    for (const timer of due) {
      const id = `${timer.reactor}\u0000${timer.key}`;
      const flying = this.inFlight.get(id);
      if (flying) {
        // Set again since it was sent: the new version is due once this flight ends.
        if (flying.version !== timer.version) leftDue = true;
        continue;
      }
      // Sent, its settlement not written yet (or written during this look's read): not sent twice.
      if (this.settling.get(id)?.version === timer.version) continue;
      const settled = this.justSettled.get(id);
      if (settled !== undefined && settled.look >= look && settled.version === timer.version) continue;
      if (this.inFlight.size >= MAX_IN_FLIGHT) {
        leftDue = true;
        break;
      }
      started++;
      const signal = this.abort.signal;
      const flight = this.fire(timer, signal)
        .then((settlement) => {
          if (settlement) this.settle(id, settlement);
          // Not sent here (aborted, or not this worker's reactor): pending still, for the next look.
          else this.justSettled.set(id, { version: timer.version, look: this.looks });
        })
        .finally(() => {
          this.inFlight.delete(id);
          // Room for timers a full look left behind; otherwise the armed wake-up is the next due time.
          if (this.backlog && !this.stopped) void this.wake();
          this.notifyIdle();
        });
      this.inFlight.set(id, { version: timer.version, flight });
    }
    // Flights that ended before this look began were settled before it read: forget them.
    for (const [id, settled] of this.justSettled) if (settled.look < look) this.justSettled.delete(id);
    if (due.length === BATCH && started > 0) this.again = true;
    this.backlog = leftDue || due.length === BATCH;
    if (next && !this.stopped) this.arm(next.getTime() - this.settings.clock.now().getTime());
  }

  private arm(ms: number): void {
    this.armed?.cancel();
    // Past Node's longest timeout the wheel wakes early and simply looks again.
    this.armed = this.settings.clock.setTimeout(() => void this.wake(), Math.min(MAX_TIMEOUT_MS, Math.max(0, ms)));
  }

  /** Sends a timer's command with retries; resolves with how it settled (undefined: not sent here). */
  private async fire(timer: StoredTimer, signal: AbortSignal): Promise<TimerSettlement | undefined> {
    const { clock, owners, aggregates, commands } = this.settings;
    const owner = owners.get(timer.reactor);
    const aggregate = aggregates.get(timer.aggregate);
    if (!owner || !aggregate) {
      // Left pending: the worker that runs this reactor (with this aggregate) fires it.
      this.settings.logger.warn({ reactor: timer.reactor, key: timer.key }, 'a due timer belongs to a reactor or aggregate not run here');
      return undefined;
    }
    const { retry } = owner;
    const firstAttemptAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return undefined;
      const started = performance.now();
      try {
        await handleCommand(commands, aggregate, {
          streamName: timer.streamName,
          command: aggregate.parseCommand(timer.command),
          commandId: timerCommandId(timer.reactor, timer.key, timer.version),
          causedBy: timer.causedBy,
          ...(timer.userId !== undefined ? { userId: timer.userId } : {}),
          ...(timer.tenantId !== undefined ? { tenantId: timer.tenantId } : {}),
          metadata: { ...(timer.metadata ?? {}), timer: { reactor: timer.reactor, key: timer.key, dueAt: timer.dueAt.toISOString() } },
        });
        owner.record(this.invocation(timer, attempt, 'succeeded', started, undefined));
        return { reactor: timer.reactor, key: timer.key, version: timer.version, outcome: { status: 'fired', attempts: attempt }, at: clock.now() };
      } catch (thrown) {
        const error = toError(thrown);
        const info = errorInfo(error);
        let wait = backoffDelay({ initialDelayMs: retry.initialDelayMs, maxDelayMs: retry.maxDelayMs, jitter: 'equal' }, attempt, this.settings.random);
        const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
        if (typeof retryAfterMs === 'number' && retryAfterMs > 0) wait = Math.max(wait, Math.min(retryAfterMs, retry.maxDelayMs));
        const final =
          (error as { retryable?: unknown }).retryable === false ||
          // A business rule, a validation or a missing stream will not change by trying again.
          PERMANENT.has(errorCategory(error) ?? 'internal') ||
          attempt >= retry.maxAttempts ||
          Date.now() + wait - firstAttemptAt > retry.maxAgeMs;
        owner.record(this.invocation(timer, attempt, final ? 'parked' : 'retrying', started, info));
        if (final) {
          this.settings.logger.warn({ reactor: timer.reactor, key: timer.key, error: info }, 'timer parked');
          return { reactor: timer.reactor, key: timer.key, version: timer.version, outcome: { status: 'parked', attempts: attempt, error: info }, at: clock.now() };
        }
        await delay(wait, signal);
      }
    }
  }

  private invocation(timer: StoredTimer, attempt: number, outcome: Invocation['outcome'], started: number, error: Invocation['error']): Invocation {
    return {
      reactor: timer.reactor,
      eventId: `timer:${timer.key}`,
      streamName: timer.streamName,
      position: timer.version,
      attempt,
      outcome,
      durationMs: performance.now() - started,
      ...(error ? { error } : {}),
      at: new Date(),
      workerId: this.settings.workerId,
    };
  }

  private notifyIdle(): void {
    if (this.waking || this.inFlight.size > 0 || this.settling.size > 0) return;
    for (const resolve of this.idleWaiters) resolve();
    this.idleWaiters.clear();
  }
}
