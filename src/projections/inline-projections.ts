import { isAppendHookHost, type AppendHookContext } from '../event-store/append-hook';
import type { Position } from '../event-store/position';
import type { ChangeFeed } from './change-feed';
import { InlineProjectionFailedError, InvalidProjectionError } from './errors';
import type { ProjectionEntry } from './projection-entry';
import type { ReadModelStore } from './read-model-store';
import { handleBatch } from './handle-batch';
import { traceProjectionBatch } from '../internal/telemetry';
import type { ProjectionEventSource, SlotRunner } from './slot-runner';

/** One projection's share of an append, committed inline, to announce once the append has committed. */
interface InlineApplied {
  readonly entry: ProjectionEntry;
  readonly runner: SlotRunner;
  readonly version: number;
  readonly keys: readonly string[];
  readonly position: Position;
  readonly count: number;
}

/**
 * Inline projections: each append's share of an inline projection is applied in the append's own
 * transaction (through the store's append hook), and announced on the change feed once it commits.
 */
export class InlineProjections {
  /** What each append transaction applied inline, for the announcements after its commit. */
  private readonly appliedInline = new WeakMap<AppendHookContext, InlineApplied[]>();

  constructor(
    private readonly eventStore: ProjectionEventSource,
    private readonly readModels: ReadModelStore,
    /** The inline projections, in the order they are applied. */
    private readonly entries: readonly ProjectionEntry[],
    private readonly changes: ChangeFeed,
  ) {}

  /** Checks that the store and the read models can share a transaction. */
  async checkSupport(): Promise<void> {
    const { eventStore, readModels } = this;
    if (!isAppendHookHost(eventStore) || !readModels.commitInline || !readModels.sharesDatabaseWith) {
      throw new InvalidProjectionError(
        `inline projections need a SQLite or PostgreSQL event store and a read-model store of the same kind; got ${eventStore.backend} and ${readModels.dialect}`,
      );
    }
    if (!(await readModels.sharesDatabaseWith(eventStore))) {
      throw new InvalidProjectionError('inline projections need the read models in the event store’s own database (the same SQLite file or PostgreSQL database)');
    }
  }

  /** Hooks into the store's appends; returns how to unhook. */
  install(): (() => void) | undefined {
    if (this.entries.length === 0 || !isAppendHookHost(this.eventStore)) return undefined;
    return this.eventStore.addAppendHook({
      beforeCommit: (context) => this.apply(context),
      afterCommit: (context) => this.announce(context),
    });
  }

  /**
   * The append hook: applies each inline projection's share of the append in the append's
   * transaction. A projection that is not up to date before the append is left to its runner.
   */
  private async apply(context: AppendHookContext): Promise<void> {
    const commitInline = this.readModels.commitInline?.bind(this.readModels);
    if (!commitInline) return;
    const applied: InlineApplied[] = [];
    for (const entry of this.entries) {
      const name = entry.definition.name;
      const slot = entry.active;
      const runner = slot?.runner;
      // A stopped runner is being switched away from (or the engine stops); a failed one waits for resume().
      if (!slot || !runner || runner.state === 'stopped' || runner.state === 'failed') continue;
      const types = new Set(entry.definition.eventTypes);
      const events = context.events.filter((event) => types.has(event.type));
      if (events.length === 0) continue;
      try {
        const result = await traceProjectionBatch(name, events, () =>
          commitInline(slot.layout, { context, events, eventTypes: entry.definition.eventTypes }, (tx) => handleBatch(entry.definition, events, tx)),
        );
        if (result) applied.push({ entry, runner, version: slot.layout.version, keys: result.keys, position: events[events.length - 1]!.position, count: events.length });
      } catch (error) {
        throw new InlineProjectionFailedError(name, error);
      }
    }
    if (applied.length > 0) this.appliedInline.set(context, applied);
  }

  private announce(context: AppendHookContext): void {
    for (const { entry, runner, version, keys, position, count } of this.appliedInline.get(context) ?? []) {
      runner.advanceInline(position, count);
      if (entry.active?.runner === runner) {
        this.changes.publish({ projection: entry.definition.name, version, position, keys });
      }
      entry.progress.notify();
    }
  }
}
