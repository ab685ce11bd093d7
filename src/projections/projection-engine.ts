import { isAppendHookHost, type AppendHookContext } from '../event-store/append-hook';
import { Position } from '../event-store/position';
import { ChangeFeed } from './change-feed';
import {
  EngineStoppedError,
  InlineProjectionFailedError,
  InvalidProjectionError,
  ProjectionFailedError,
  ProjectionVersionConflictError,
  RebuildTimeoutError,
  WaitForStateTimeoutError,
  toError,
  UnknownProjectionError,
  WaitForPositionTimeoutError,
} from './errors';
import { ProgressSignal } from './progress-signal';
import { validateProjection, type AnyProjection } from './projection';
import type { ProjectionErrorInfo, ProjectionState, ProjectionStatus, RebuildStatus, SlotStatus } from './projection-status';
import { slotLayout, type ProjectionRecord, type ReadModelStore, type SlotLayout } from './read-model-store';
import { delay, within } from '../internal/delay';
import { retryDelay, type RetryPolicy } from './retry-policy';
import { SlotRunner, errorInfo, handleBatch, type ProjectionEventSource } from './slot-runner';
import { isTransientError } from './transient-error';

export interface ProjectionEngineOptions {
  /** Where events come from. */
  readonly eventStore: ProjectionEventSource;
  /** Where read models and checkpoints live. */
  readonly readModels: ReadModelStore;
  readonly projections: readonly AnyProjection[];
  /**
   * Most events per batch (and transaction); a projection's own `batchSize` wins. Default 5,000. Live
   * batches stay small by themselves (they are cut as soon as nothing more is waiting); the size
   * matters when catching up, where bigger batches mean fewer commits.
   */
  readonly batchSize?: number;
  /** Backoff for database failures. */
  readonly retry?: RetryPolicy;
  /** Told when a projection stops on a failure (status has the details too). */
  readonly onFailure?: (projection: string, error: unknown) => void;
  /**
   * Projections to update inline: in each append's own transaction, so that a read right after the
   * append already sees it, and an append the handler throws on is rejected
   * (`InlineProjectionFailedError`) with nothing written. Needs the read models in the event store's
   * database (SQLite: the same file; PostgreSQL: the same database). An inline projection that is
   * behind (first run, rebuild, events from writers without this engine) is caught up by its async
   * runner first, and goes inline again once it has caught up.
   */
  readonly inline?: readonly string[];
}

export interface WaitOptions {
  /** Default 5,000 ms. */
  readonly timeoutMs?: number;
}

/** A slot of a projection: the runner that fills it, or none for an old version kept only to serve. */
interface SlotHandle {
  readonly layout: SlotLayout;
  readonly runner: SlotRunner | undefined;
  /** For a slot without a runner: its stored checkpoint. */
  readonly storedPosition: Position | undefined;
  readonly storedEventsHandled: number;
}

interface RebuildHandle extends SlotHandle {
  readonly runner: SlotRunner;
  readonly startedAt: Date;
  readonly handledAtStart: number;
}

interface Entry {
  readonly definition: AnyProjection;
  active: SlotHandle | undefined;
  rebuild: RebuildHandle | undefined;
  /** Why the projection cannot run at all (e.g. the database holds a newer version). */
  blocked: Error | undefined;
  /** Why opening the projection is being retried (the database is unreachable). */
  opening: ProjectionErrorInfo | undefined;
  switching: Promise<void> | undefined;
  readonly progress: ProgressSignal;
}

const DEFAULT_BATCH_SIZE = 5_000;

/** One projection's share of an append, committed inline, to announce once the append has committed. */
interface InlineApplied {
  readonly entry: Entry;
  readonly runner: SlotRunner;
  readonly version: number;
  readonly keys: readonly string[];
  readonly position: Position;
  readonly count: number;
}

/**
 * Runs async projections: each one follows the event store from its checkpoint, in batches, and
 * commits its read model and checkpoint together. It reports status, announces committed batches on
 * `changes`, waits for positions (read-your-writes) and rebuilds without downtime.
 *
 * @example
 * const engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
 * await engine.start();
 * const { position } = await eventStore.appendToStream('order-1', [placed]);
 * await engine.waitForPosition('order-summary', position, { timeoutMs: 2_000 });
 * const order = await readModels.documents(orderSummary, 'orders').get('order-1');
 */
export class ProjectionEngine {
  /** Committed batches of the versions readers see, announced in this process at once. */
  readonly changes = new ChangeFeed();
  private readonly entries = new Map<string, Entry>();
  private started = false;
  private stopped = false;
  private readonly stopping = new AbortController();
  private removeAppendHook: (() => void) | undefined;
  /** What each append transaction applied inline, for the announcements after its commit. */
  private readonly appliedInline = new WeakMap<AppendHookContext, InlineApplied[]>();

  constructor(private readonly options: ProjectionEngineOptions) {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
      throw new InvalidProjectionError('batchSize must be an integer from 1 to 100000');
    }
    const collections = new Map<string, string>();
    for (const definition of options.projections) {
      validateProjection(definition);
      if (this.entries.has(definition.name)) {
        throw new InvalidProjectionError(`two projections are named "${definition.name}"`);
      }
      for (const name of [...Object.keys(definition.collections), ...Object.keys(definition.tables)]) {
        const owner = collections.get(name);
        if (owner) throw new InvalidProjectionError(`projections "${owner}" and "${definition.name}" both define "${name}"`);
        collections.set(name, definition.name);
      }
      this.entries.set(definition.name, {
        definition,
        active: undefined,
        rebuild: undefined,
        blocked: undefined,
        opening: undefined,
        switching: undefined,
        progress: new ProgressSignal(),
      });
    }
    for (const name of options.inline ?? []) {
      if (!this.entries.has(name)) throw new InvalidProjectionError(`inline projection "${name}" is not one of the engine's projections`);
    }
  }

  /**
   * Prepares every projection's tables and starts following the store. Resolves once all are running
   * (not caught up: use `waitForPosition` for that). A projection that cannot start is reported in its
   * status; the others start anyway.
   */
  async start(): Promise<void> {
    if (this.stopped) throw new EngineStoppedError();
    if (this.started) return;
    if ((this.options.inline ?? []).length > 0) await this.checkInlineSupport();
    this.started = true;
    await Promise.all([...this.entries.values()].map((entry) => this.open(entry)));
    if ((this.options.inline ?? []).length > 0 && !this.stopped && isAppendHookHost(this.options.eventStore)) {
      this.removeAppendHook = this.options.eventStore.addAppendHook({
        beforeCommit: (context) => this.applyInline(context),
        afterCommit: (context) => this.announceInline(context),
      });
    }
  }

  /** Stops every projection after its batch in flight; checkpoints stay where they are. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.removeAppendHook?.();
    this.removeAppendHook = undefined;
    this.stopping.abort();
    const runners = [...this.entries.values()].flatMap((entry) => [entry.active?.runner, entry.rebuild?.runner]);
    await Promise.all(runners.flatMap((runner) => (runner ? [runner.stop()] : [])));
    // Wakes switch-overs and waiters, which see `stopped` and give up.
    for (const entry of this.entries.values()) entry.progress.notify();
    await Promise.all([...this.entries.values()].flatMap((entry) => (entry.switching ? [entry.switching] : [])));
  }

  /** The names of the registered projections. */
  get projectionNames(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * A projection's position, lag, state, last error and rebuild progress.
   * @throws UnknownProjectionError for a name that is not registered.
   */
  async status(name: string): Promise<ProjectionStatus> {
    const entry = this.entry(name);
    const { definition } = entry;
    const active = entry.active;
    const rebuild = entry.rebuild;
    const rebuildStatus = rebuild ? await this.rebuildStatus(rebuild) : undefined;
    let slot: SlotStatus;
    if (active?.runner) {
      slot = await active.runner.status();
    } else {
      // No runner: an older version that only serves while the new one rebuilds, or nothing at all.
      const position = active?.storedPosition;
      const behind = rebuildStatus ? { lagEvents: rebuildStatus.lagEvents, lagMs: rebuildStatus.lagMs } : { lagEvents: undefined, lagMs: 0 };
      slot = {
        version: active?.layout.version ?? definition.version,
        state: entry.blocked ? 'failed' : this.stopped || !this.started ? 'stopped' : 'catching-up',
        position,
        eventsHandled: active?.storedEventsHandled ?? 0,
        ...behind,
        lastError: entry.blocked ? errorInfo(entry.blocked) : entry.opening,
        retry: undefined,
      };
    }
    return { ...slot, name, definedVersion: definition.version, rebuild: rebuildStatus };
  }

  /** Every projection's status. */
  statuses(): Promise<ProjectionStatus[]> {
    return Promise.all([...this.entries.keys()].map((name) => this.status(name)));
  }

  /**
   * Resolves when the projection's readable version has processed everything up to `position` (an
   * append's position, say): read-your-writes. Events of types the projection does not handle count
   * as processed.
   *
   * @example
   * const { position } = await eventStore.appendToStream(stream, events);
   * await engine.waitForPosition('order-summary', position, { timeoutMs: 2_000 });
   * @throws WaitForPositionTimeoutError when the time runs out first.
   * @throws ProjectionFailedError when the projection is stopped on a failure.
   */
  async waitForPosition(name: string, position: Position, options: WaitOptions = {}): Promise<void> {
    const entry = this.entry(name);
    const timeoutMs = options.timeoutMs ?? 5_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const progressed = entry.progress.next();
      const runner = entry.active?.runner;
      if (runner?.covers(position)) return;
      if (this.stopped) throw new EngineStoppedError();
      if (entry.blocked) throw new ProjectionFailedError(name, entry.blocked.message, { cause: entry.blocked });
      if (runner?.state === 'failed') {
        throw new ProjectionFailedError(name, runner.lastError?.message ?? 'stopped on a failure');
      }
      if (runner && runner.state !== 'stopped') {
        await runner.probe().catch(() => undefined);
        if (runner.covers(position)) return;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || !(await within(progressed, remaining))) {
        if (runner?.covers(position)) return;
        throw new WaitForPositionTimeoutError(name, position, timeoutMs, runner?.checkpoint ?? entry.active?.storedPosition);
      }
    }
  }

  /**
   * Resolves with the projection's status once its state is one of `states` (at once if it already is).
   *
   * @example
   * await engine.waitForState('order-summary', 'live', { timeoutMs: 30_000 });
   * @throws WaitForStateTimeoutError when the time runs out first.
   */
  waitForState(
    name: string,
    states: ProjectionState | readonly ProjectionState[],
    options: WaitOptions = {},
  ): Promise<ProjectionStatus> {
    const wanted = typeof states === 'string' ? [states] : states;
    return this.waitForStatus(name, (status) => wanted.includes(status.state), { ...options, what: wanted.join(' or ') });
  }

  /**
   * Resolves with the projection's status once `accept` says yes; the status is looked at again on
   * every change of the projection (commit, state change, retry), never on a timer.
   *
   * @example
   * await engine.waitForStatus('order-summary', (status) => status.retry !== undefined);
   * @throws WaitForStateTimeoutError when the time runs out first.
   */
  async waitForStatus(
    name: string,
    accept: (status: ProjectionStatus) => boolean,
    options: WaitOptions & { readonly what?: string } = {},
  ): Promise<ProjectionStatus> {
    const entry = this.entry(name);
    const timeoutMs = options.timeoutMs ?? 5_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const progressed = entry.progress.next();
      const status = await this.status(name);
      if (accept(status)) return status;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || !(await within(progressed, remaining))) {
        throw new WaitForStateTimeoutError(name, options.what ?? 'the expected status', timeoutMs, status.state);
      }
    }
  }

  /**
   * Rebuilds the projection from the first event into new tables while the current ones keep serving,
   * then switches readers over and drops the old tables. Resolves once the rebuild has started; see
   * `status(name).rebuild` for progress and `whenRebuilt` for the end.
   */
  async rebuild(name: string): Promise<void> {
    const entry = this.entry(name);
    if (this.stopped || !this.started) throw new EngineStoppedError();
    if (entry.blocked) throw new ProjectionFailedError(name, entry.blocked.message, { cause: entry.blocked });
    if (entry.rebuild || entry.switching) return;
    const record = await this.options.readModels.load(name);
    const generation =
      Math.max(-1, ...record.slots.filter((slot) => slot.version === entry.definition.version).map((slot) => slot.generation)) + 1;
    const layout = slotLayout(entry.definition, entry.definition.version, generation);
    await this.options.readModels.createSlot(layout);
    if (entry.rebuild || entry.switching) return;
    this.startRebuild(entry, layout, 0);
  }

  /**
   * Resolves when no rebuild of the projection is pending (at once when none is).
   * @throws ProjectionFailedError when the rebuild stops on a failure.
   */
  async whenRebuilt(name: string, options: WaitOptions = {}): Promise<void> {
    const entry = this.entry(name);
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const progressed = entry.progress.next();
      if (!entry.rebuild && !entry.switching) return;
      if (this.stopped) throw new EngineStoppedError();
      if (entry.rebuild?.runner.state === 'failed') {
        throw new ProjectionFailedError(name, `rebuild failed: ${entry.rebuild.runner.lastError?.message ?? ''}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || !(await within(progressed, remaining))) {
        throw new RebuildTimeoutError(name, timeoutMs);
      }
    }
  }

  /**
   * Starts a projection that stopped on a failure again, from its checkpoint (after the fix is
   * deployed, or the outside cause is gone). Its rebuild, when that failed, restarts too.
   */
  resume(name: string): void {
    const entry = this.entry(name);
    if (this.stopped) throw new EngineStoppedError();
    for (const runner of [entry.active?.runner, entry.rebuild?.runner]) {
      if (runner && (runner.state === 'failed' || runner.state === 'stopped')) runner.start();
    }
  }

  private async checkInlineSupport(): Promise<void> {
    const { eventStore, readModels } = this.options;
    if (!isAppendHookHost(eventStore) || !readModels.commitInline || !readModels.sharesDatabaseWith) {
      throw new InvalidProjectionError(
        `inline projections need a SQLite or PostgreSQL event store and a read-model store of the same kind; got ${eventStore.backend} and ${readModels.dialect}`,
      );
    }
    if (!(await readModels.sharesDatabaseWith(eventStore))) {
      throw new InvalidProjectionError('inline projections need the read models in the event store’s own database (the same SQLite file or PostgreSQL database)');
    }
  }

  /**
   * The append hook: applies each inline projection's share of the append in the append's
   * transaction. A projection that is not up to date before the append is left to its runner.
   */
  private async applyInline(context: AppendHookContext): Promise<void> {
    const commitInline = this.options.readModels.commitInline?.bind(this.options.readModels);
    if (!commitInline) return;
    const applied: InlineApplied[] = [];
    for (const name of this.options.inline ?? []) {
      const entry = this.entries.get(name)!;
      const slot = entry.active;
      const runner = slot?.runner;
      // A stopped runner is being switched away from (or the engine stops); a failed one waits for resume().
      if (!slot || !runner || runner.state === 'stopped' || runner.state === 'failed') continue;
      const types = new Set(entry.definition.eventTypes);
      const events = context.events.filter((event) => types.has(event.type));
      if (events.length === 0) continue;
      try {
        const result = await commitInline(
          slot.layout,
          { context, events, eventTypes: entry.definition.eventTypes },
          (tx) => handleBatch(entry.definition, events, tx),
        );
        if (result) applied.push({ entry, runner, version: slot.layout.version, keys: result.keys, position: events[events.length - 1]!.position, count: events.length });
      } catch (error) {
        throw new InlineProjectionFailedError(name, error);
      }
    }
    if (applied.length > 0) this.appliedInline.set(context, applied);
  }

  private announceInline(context: AppendHookContext): void {
    for (const { entry, runner, version, keys, position, count } of this.appliedInline.get(context) ?? []) {
      runner.advanceInline(position, count);
      if (entry.active?.runner === runner) {
        this.changes.publish({ projection: entry.definition.name, version, position, keys });
      }
      entry.progress.notify();
    }
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new UnknownProjectionError(name);
    return entry;
  }

  /**
   * Opens a projection. When the database is unreachable, `start()` does not wait for it: the
   * projection keeps trying in the background (its status says so) and starts when it can.
   */
  private async open(entry: Entry): Promise<void> {
    if ((await this.tryOpen(entry)) === 'done') return;
    void (async () => {
      for (let attempt = 1; !this.stopped; attempt++) {
        await delay(retryDelay(this.options.retry ?? {}, attempt), this.stopping.signal);
        if (this.stopped || (await this.tryOpen(entry)) === 'done') return;
      }
    })();
  }

  private async tryOpen(entry: Entry): Promise<'done' | 'retry'> {
    try {
      await this.openOnce(entry);
      entry.opening = undefined;
      return 'done';
    } catch (error) {
      if (!isTransientError(error) || this.stopped) {
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
  private async openOnce(entry: Entry): Promise<void> {
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

  private handle(entry: Entry, layout: SlotLayout, record: ProjectionRecord, withRunner = true): SlotHandle {
    const stored = record.slots.find((slot) => slot.version === layout.version && slot.generation === layout.generation);
    return {
      layout,
      runner: withRunner ? this.runner(entry, layout) : undefined,
      storedPosition: stored?.position,
      storedEventsHandled: stored?.eventsHandled ?? 0,
    };
  }

  private runner(entry: Entry, layout: SlotLayout): SlotRunner {
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
  private startRebuild(entry: Entry, layout: SlotLayout, handledAtStart: number): void {
    const runner = this.runner(entry, layout);
    entry.rebuild = { layout, runner, storedPosition: undefined, storedEventsHandled: 0, startedAt: new Date(), handledAtStart };
    // Switches over whenever the new slot is live; a switch-over abandoned because the rebuild failed
    // is tried again once the rebuild is resumed and live again.
    const watch = async (): Promise<void> => {
      while (!this.stopped && entry.rebuild?.runner === runner) {
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
  private async switchOver(entry: Entry, rebuild: RebuildHandle): Promise<void> {
    const previous = entry.active;
    if (!previous) return;
    await previous.runner?.stop();
    const target = previous.runner?.checkpoint ?? previous.storedPosition;
    for (let attempt = 1; !this.stopped; attempt++) {
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
        await delay(retryDelay(this.options.retry ?? {}, attempt), this.stopping.signal);
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
  private async dropLeftovers(entry: Entry, record: ProjectionRecord, keep: ReadonlySet<string | undefined>): Promise<void> {
    for (const slot of record.slots) {
      const layout = slotLayout(entry.definition, slot.version, slot.generation);
      if (keep.has(layout.id) || slot.version > entry.definition.version) continue;
      await this.options.readModels.dropSlot(layout);
    }
  }

  private async rebuildStatus(rebuild: RebuildHandle): Promise<RebuildStatus> {
    const { runner } = rebuild;
    const slot = await runner.status();
    const { covered, head } = runner.coverage;
    const done = runner.sequenceGap(undefined, covered);
    const total = runner.sequenceGap(undefined, head && covered && covered.isAfter(head) ? covered : head);
    const seconds = Math.max(0.001, (Date.now() - rebuild.startedAt.getTime()) / 1_000);
    return {
      ...slot,
      generation: rebuild.layout.generation,
      startedAt: rebuild.startedAt,
      eventsDone: done,
      eventsTotal: total,
      eventsPerSecond: Math.round((runner.eventsHandled - rebuild.handledAtStart) / seconds),
    };
  }
}

/** The newest generation of `version` above `above`, if any. */
function newest(record: ProjectionRecord, version: number, above: number): number | undefined {
  const generations = record.slots.filter((slot) => slot.version === version && slot.generation > above).map((slot) => slot.generation);
  return generations.length > 0 ? Math.max(...generations) : undefined;
}



