import type { RecordedEvent } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { ChangeFeed } from './change-feed';
import { EngineStoppedError, ProjectionFailedError, UnknownProjectionError, WaitForPositionTimeoutError } from './errors';
import { ProgressSignal } from './progress-signal';
import type { AnyProjection } from './projection';
import type { ReadModelStore } from './read-model-store';
import type { ProjectionEventSource } from './slot-runner';
import type { WaitOptions } from './projection-engine';
import { within } from '../internal/delay';

export interface ProjectionWatcherOptions {
  readonly eventStore: Pick<ProjectionEventSource, 'readAll' | 'headPosition'>;
  readonly readModels: ReadModelStore;
  /** The projections to watch (the same definitions the engine runs elsewhere). */
  readonly projections: readonly AnyProjection[];
  /**
   * How often a wait looks at the checkpoint again when no announcement came (stores without
   * notifications, or a lost one). Default 250 ms.
   */
  readonly pollIntervalMs?: number;
}

/**
 * Follows projections that run in other processes: relays their change feed (from the store's own
 * channel: LISTEN/NOTIFY on PostgreSQL, polling on SQLite) and waits for positions, so that an API
 * process can serve read-your-writes and GraphQL subscriptions without running the engine.
 *
 * @example
 * const watcher = new ProjectionWatcher({ eventStore, readModels, projections: [orderSummary] });
 * await watcher.start();
 * await watcher.waitForPosition('order-summary', Position.parse(request.minPosition), { timeoutMs: 2_000 });
 * watcher.changes.subscribe((change) => pubsub.publish(change.projection, change));
 */
export class ProjectionWatcher {
  /** Committed batches announced by any process, as they are heard. */
  readonly changes = new ChangeFeed();
  private readonly definitions = new Map<string, AnyProjection>();
  private readonly progress = new Map<string, ProgressSignal>();
  private unwatch: (() => Promise<void>) | undefined;
  private stopped = false;

  constructor(private readonly options: ProjectionWatcherOptions) {
    for (const definition of options.projections) {
      this.definitions.set(definition.name, definition);
      this.progress.set(definition.name, new ProgressSignal());
    }
  }

  /** Starts listening to the store's announcements (when it has them). */
  async start(): Promise<void> {
    if (this.stopped) throw new EngineStoppedError();
    if (this.unwatch || !this.options.readModels.watchChanges) return;
    this.unwatch = await this.options.readModels.watchChanges((change) => {
      this.progress.get(change.projection)?.notify();
      this.changes.publish(change);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.unwatch?.();
    this.unwatch = undefined;
    for (const signal of this.progress.values()) signal.notify();
  }

  /**
   * Resolves when the readable version of the projection has processed everything up to `position`.
   *
   * @throws WaitForPositionTimeoutError when the time runs out first.
   * @throws ProjectionFailedError when the projection is stopped on a failure.
   */
  async waitForPosition(name: string, position: Position, options: WaitOptions = {}): Promise<void> {
    const definition = this.definitions.get(name);
    const signal = this.progress.get(name);
    if (!definition || !signal) throw new UnknownProjectionError(name);
    const timeoutMs = options.timeoutMs ?? 5_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.stopped) throw new EngineStoppedError();
      const announced = signal.next();
      const { reached, covered, failure } = await this.check(definition, position);
      if (covered) return;
      if (failure) throw new ProjectionFailedError(name, failure);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new WaitForPositionTimeoutError(name, position, timeoutMs, reached);
      await within(announced, Math.min(remaining, this.options.pollIntervalMs ?? 250));
    }
  }

  /**
   * Whether the active version covers `position`: its checkpoint is there, or no event of its types
   * lies between the checkpoint and `position` (which must be within the store's safe head).
   */
  private async check(
    definition: AnyProjection,
    position: Position,
  ): Promise<{ reached: Position | undefined; covered: boolean; failure: string | undefined }> {
    const record = await this.options.readModels.load(definition.name);
    const active = record.active;
    const slot = active && record.slots.find((candidate) => candidate.version === active.version && candidate.generation === active.generation);
    const reached = slot?.position;
    if (!slot) return { reached, covered: false, failure: undefined };
    if (reached && !position.isAfter(reached)) return { reached, covered: true, failure: undefined };
    const failure = slot.failure ? `stopped on event ${slot.failure.eventId}: ${slot.failure.error.message}` : undefined;
    const head = await this.options.eventStore.headPosition();
    if (!head || position.isAfter(head)) return { reached, covered: false, failure };
    let next: RecordedEvent | undefined;
    for await (const event of this.options.eventStore.readAll({
      fromPosition: reached ?? 'start',
      filter: { eventTypes: definition.eventTypes },
      maxCount: 1,
    })) {
      next = event;
    }
    return { reached, covered: !next || next.position.isAfter(position), failure };
  }
}

