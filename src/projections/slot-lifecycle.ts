import { Position } from '../event-store/position';
import type { ChangeFeed } from './change-feed';
import { ProjectionVersionConflictError, toError } from './errors';
import { delay } from '../internal/delay';
import type { ProjectionEngineOptions } from './projection-engine';
import type { ProjectionEntry, RebuildHandle, SlotHandle } from './projection-entry';
import { slotLayout, type ProjectionRecord, type SlotLayout } from './read-model-store';
import { retryDelay } from './retry-policy';
import { errorInfo } from './error-info';
import { SlotRunner } from './slot-runner';
import { isTransientError } from './transient-error';

/** Most events per batch when neither the engine nor the projection says. */
export const DEFAULT_BATCH_SIZE = 5_000;

/**
 * The slots of a projection over time: opening them from what the database holds (which to serve, run,
 * rebuild and drop), the runner of each, rebuilds into a new slot and the switch-over of readers to it.
 */
export class SlotLifecycle {
  constructor(
    private readonly options: ProjectionEngineOptions,
    private readonly changes: ChangeFeed,
    private readonly isStopped: () => boolean,
    /** Aborts the retry waits when the engine stops. */
    private readonly stopping: AbortSignal,
  ) {}

  /** Starts a rebuild of the current version into a new generation's slot. */
  async rebuild(entry: ProjectionEntry): Promise<void> {
    const name = entry.definition.name;
    const record = await this.options.readModels.load(name);
    const generation =
      Math.max(-1, ...record.slots.filter((slot) => slot.version === entry.definition.version).map((slot) => slot.generation)) + 1;
    const layout = slotLayout(entry.definition, entry.definition.version, generation);
    await this.options.readModels.createSlot(layout);
    if (entry.rebuild || entry.switching) return;
    this.startRebuild(entry, layout, 0);
  }

  /**
   * Opens a projection. When the database is unreachable, `start()` does not wait for it: the
   * projection keeps trying in the background (its status says so) and starts when it can.
   */
  async open(entry: ProjectionEntry): Promise<void> {
    if ((await this.tryOpen(entry)) === 'done') return;
    void (async () => {
      for (let attempt = 1; !this.isStopped(); attempt++) {
        await delay(retryDelay(this.options.retry ?? {}, attempt), this.stopping);
        if (this.isStopped() || (await this.tryOpen(entry)) === 'done') return;
      }
    })();
  }

  private async tryOpen(entry: ProjectionEntry): Promise<'done' | 'retry'> {
    try {
      await this.openOnce(entry);
      entry.opening = undefined;
      return 'done';
    } catch (error) {
      if (!isTransientError(error) || this.isStopped()) {
        entry.blocked = toError(error);
        entry.progress.notify();
        this.options.onFailure?.(entry.definition.name, error);
        return 'done';
      }
      entry.opening = errorInfo(error);
      entry.progress.notify();
      return 'retry';
    }
  }

  /**
   * Decides, from what the database holds, which slots to serve, run, rebuild and drop. Runners start
   * only after every database step has succeeded, so a retried attempt never leaves a runner behind.
   */
  private async openOnce(entry: ProjectionEntry): Promise<void> {
    const { definition } = entry;
    const store = this.options.readModels;
    const record = await store.load(definition.name);
    const active = record.active;
    if (active && active.version > definition.version) {
      throw new ProjectionVersionConflictError(definition.name, definition.version, active.version);
    }
    let serving: SlotHandle;
    let rebuild: SlotLayout | undefined;
    if (!active) {
      // First run (or a first run that crashed before it activated): the new slot serves at once.
      const layout = slotLayout(definition, definition.version, 0);
      await store.createSlot(layout);
      await store.activate(layout);
      serving = this.handle(entry, layout, record);
    } else if (active.version === definition.version) {
      serving = this.handle(entry, slotLayout(definition, active.version, active.generation), record);
      const pending = newest(record, definition.version, active.generation);
      if (pending !== undefined) rebuild = slotLayout(definition, definition.version, pending);
    } else {
      // A version bump: the old version serves (without a runner: its code is gone) while the new builds.
      serving = this.handle(entry, slotLayout(definition, active.version, active.generation), record, false);
      rebuild = slotLayout(definition, definition.version, newest(record, definition.version, -1) ?? 0);
    }
    if (rebuild) await store.createSlot(rebuild);
    await this.dropLeftovers(entry, record, new Set([serving.layout.id, rebuild?.id]));
    entry.active = serving;
    serving.runner?.start();
    if (rebuild) this.startRebuild(entry, rebuild, 0);
    entry.progress.notify();
  }

  private handle(entry: ProjectionEntry, layout: SlotLayout, record: ProjectionRecord, withRunner = true): SlotHandle {
    const stored = record.slots.find((slot) => slot.version === layout.version && slot.generation === layout.generation);
    return {
      layout,
      runner: withRunner ? this.runner(entry, layout) : undefined,
      storedPosition: stored?.position,
      storedEventsHandled: stored?.eventsHandled ?? 0,
    };
  }

  private runner(entry: ProjectionEntry, layout: SlotLayout): SlotRunner {
    return new SlotRunner({
      definition: entry.definition,
      layout,
      eventStore: this.options.eventStore,
      store: this.options.readModels,
      batchSize: this.options.batchSize ?? DEFAULT_BATCH_SIZE,
      retry: this.options.retry ?? {},
      progress: entry.progress,
      onCommitted: (runner, keys, position) => {
        // Only the version readers see is announced: a rebuild's batches are invisible until the switch.
        if (entry.active?.runner !== runner) return;
        this.changes.publish({ projection: entry.definition.name, version: layout.version, position, keys });
      },
      onFailed: (_runner, error) => this.options.onFailure?.(entry.definition.name, error),
    });
  }

  /** Starts filling a slot that exists; the switch-over follows whenever the slot is live. */
  startRebuild(entry: ProjectionEntry, layout: SlotLayout, handledAtStart: number): void {
    const runner = this.runner(entry, layout);
    entry.rebuild = { layout, runner, storedPosition: undefined, storedEventsHandled: 0, startedAt: new Date(), handledAtStart };
    // Switches over whenever the new slot is live; a switch-over abandoned because the rebuild failed
    // is tried again once the rebuild is resumed and live again.
    const watch = async (): Promise<void> => {
      while (!this.isStopped() && entry.rebuild?.runner === runner) {
        const progressed = entry.progress.next();
        if (runner.state === 'live' && !entry.switching) {
          entry.switching = this.switchOver(entry, entry.rebuild).finally(() => {
            entry.switching = undefined;
            entry.progress.notify();
          });
          await entry.switching;
          continue;
        }
        await progressed;
      }
    };
    void watch();
    runner.start();
    entry.progress.notify();
  }

  /**
   * Switches readers to the rebuilt slot. The old runner stops first, and the switch waits until the
   * new slot covers the old one's checkpoint, so readers never see the read model go backwards.
   */
  private async switchOver(entry: ProjectionEntry, rebuild: RebuildHandle): Promise<void> {
    const previous = entry.active;
    if (!previous) return;
    await previous.runner?.stop();
    const target = previous.runner?.checkpoint ?? previous.storedPosition;
    for (let attempt = 1; !this.isStopped(); attempt++) {
      const progressed = entry.progress.next();
      if (rebuild.runner.state === 'failed') {
        // The old version goes on serving (and following the store) until the rebuild is fixed.
        previous.runner?.start();
        return;
      }
      if (target && !rebuild.runner.covers(target)) {
        await rebuild.runner.probe().catch(() => undefined);
        if (!rebuild.runner.covers(target)) {
          await progressed;
          continue;
        }
      }
      try {
        await this.options.readModels.activate(rebuild.layout);
      } catch (error) {
        if (!isTransientError(error)) {
          entry.blocked = toError(error);
          this.options.onFailure?.(entry.definition.name, error);
          return;
        }
        await delay(retryDelay(this.options.retry ?? {}, attempt), this.stopping);
        continue;
      }
      entry.active = rebuild;
      entry.rebuild = undefined;
      this.changes.publish({
        projection: entry.definition.name,
        version: rebuild.layout.version,
        position: rebuild.runner.checkpoint ?? target ?? Position.of(0n, 0n),
        keys: 'all',
      });
      entry.progress.notify();
      // Best effort: a slot left behind is dropped the next time the projection opens.
      await this.options.readModels.dropSlot(previous.layout).catch(() => undefined);
      return;
    }
  }

  /** Slots no process can still need: older versions, and rebuilds superseded by a newer active slot. */
  private async dropLeftovers(entry: ProjectionEntry, record: ProjectionRecord, keep: ReadonlySet<string | undefined>): Promise<void> {
    for (const slot of record.slots) {
      const layout = slotLayout(entry.definition, slot.version, slot.generation);
      if (keep.has(layout.id) || slot.version > entry.definition.version) continue;
      await this.options.readModels.dropSlot(layout);
    }
  }
}

/** The newest generation of `version` above `above`, if any. */
function newest(record: ProjectionRecord, version: number, above: number): number | undefined {
  const generations = record.slots.filter((slot) => slot.version === version && slot.generation > above).map((slot) => slot.generation);
  return generations.length > 0 ? Math.max(...generations) : undefined;
}
