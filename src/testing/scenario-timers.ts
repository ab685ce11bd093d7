import { handleCommand, type CommandEnvironment } from '../commands/handle-command';
import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { RecordedEvent } from '../event-store/event-store';
import { errorInfo, type ReactorErrorInfo } from '../handlers/errors';
import { InMemoryTimerStore } from '../handlers/in-memory-timer-store';
import type { ResolvedReactor } from '../handlers/reactor';
import type { AnyAggregate } from '../handlers/timer-runtime';
import { TimerScheduler } from '../handlers/timer-scheduler';
import { lastChangePerKey, timerCommandId, type StoredTimer, type TimerChange } from '../handlers/timer-store';

const YEAR_MS = 366 * 86_400_000;

/**
 * The timers of one verification run: kept in memory, fired when the run's time jumps. Time starts at
 * the first event's `recordedAt` and only moves forward.
 */
export class ScenarioTimers {
  private readonly store = new InMemoryTimerStore();
  private readonly aggregates: Map<string, Aggregate<Message, Message, unknown>>;
  private readonly start: number;
  private readonly endAt: number;
  private now: number;

  constructor(
    private readonly reactor: ResolvedReactor,
    private readonly environment: CommandEnvironment,
    aggregates: readonly AnyAggregate[],
    recorded: readonly RecordedEvent[],
    advanceMs: number | undefined,
  ) {
    this.aggregates = new Map((aggregates as readonly unknown[] as readonly Aggregate<Message, Message, unknown>[]).map((aggregate) => [aggregate.category, aggregate]));
    const times = recorded.map((event) => event.recordedAt.getTime());
    this.start = Math.min(...times);
    const last = Math.max(...times);
    this.endAt = advanceMs === undefined ? Number.POSITIVE_INFINITY : last + advanceMs;
    this.now = this.start;
  }

  scheduler(event: RecordedEvent): TimerScheduler {
    return new TimerScheduler(this.reactor.name, event, 0, this.aggregates);
  }

  commit(changes: readonly TimerChange[]): Promise<void> {
    return this.store.applyTimerChanges(lastChangePerKey(changes));
  }

  /** Moves time `fraction`/1000 of the way to the end (never back) and fires what is due. */
  async jump(fraction: number, failed: Map<string, ReactorErrorInfo>): Promise<void> {
    const end = Number.isFinite(this.endAt) ? this.endAt : this.start + YEAR_MS;
    this.now = Math.max(this.now, this.start + Math.floor(((end - this.start) * fraction) / 1_000));
    await this.fireDue(failed);
  }

  /** Moves time to the end and fires every timer due by then. */
  async finish(failed: Map<string, ReactorErrorInfo>): Promise<void> {
    this.now = this.endAt;
    await this.fireDue(failed);
  }

  async pending(): Promise<{ key: string; dueAt: string }[]> {
    const { items } = await this.store.listTimers({ status: 'pending', limit: 10_000 });
    return items.map((timer) => ({ key: timer.key, dueAt: timer.dueAt.toISOString() }));
  }

  private async fireDue(failed: Map<string, ReactorErrorInfo>): Promise<void> {
    const at = new Date(Number.isFinite(this.now) ? this.now : 8.64e15);
    for (const timer of await this.store.dueTimers([0], at, Number.MAX_SAFE_INTEGER)) await this.fire(timer, at, failed);
  }

  private async fire(timer: StoredTimer, at: Date, failed: Map<string, ReactorErrorInfo>): Promise<void> {
    const id = `timer:${timer.key}`;
    const aggregate = this.aggregates.get(timer.aggregate)!;
    let lastError: ReactorErrorInfo | undefined;
    for (let attempt = 1; attempt <= this.reactor.retry.maxAttempts; attempt++) {
      try {
        await handleCommand(this.environment, aggregate, {
          streamName: timer.streamName,
          command: aggregate.parseCommand(timer.command),
          commandId: timerCommandId(timer.reactor, timer.key, timer.version),
          causedBy: timer.causedBy,
          ...(timer.userId !== undefined ? { userId: timer.userId } : {}),
          ...(timer.tenantId !== undefined ? { tenantId: timer.tenantId } : {}),
        });
        lastError = undefined;
        break;
      } catch (error) {
        lastError = errorInfo(error);
      }
    }
    if (lastError) failed.set(id, lastError);
    else failed.delete(id);
    await this.store.settleTimers([{ reactor: timer.reactor, key: timer.key, version: timer.version, outcome: lastError ? { status: 'parked', attempts: 1, error: lastError } : { status: 'fired', attempts: 1 }, at: at }]);
  }
}
