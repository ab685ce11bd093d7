import type { Position } from '../event-store/position';
import { ChangeFeed } from './change-feed';
import { InlineProjections } from './inline-projections';
import { EngineStoppedError, InvalidProjectionError, ProjectionFailedError, UnknownProjectionError } from './errors';
import { validateProjection, type AnyProjection } from './projection';
import { newEntry, type ProjectionEntry } from './projection-entry';
import { statusOf, type ProjectionState, type ProjectionStatus } from './projection-status';
import { waitForCoverage, waitForRebuild, waitForStatusOf } from './projection-waits';
import type { ReadModelStore } from './read-model-store';
import type { RetryPolicy } from './retry-policy';
import { DEFAULT_BATCH_SIZE, SlotLifecycle } from './slot-lifecycle';
import type { ProjectionEventSource } from './slot-runner';
import { observeLag } from '../internal/metrics';

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
  private readonly entries = new Map<string, ProjectionEntry>();
  private started = false;
  private stopped = false;
  private readonly stopping = new AbortController();
  private removeAppendHook: (() => void) | undefined;
  private stopLagMetrics: (() => void) | undefined;
  private readonly inline: InlineProjections;
  private readonly slots: SlotLifecycle;

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
      this.entries.set(definition.name, newEntry(definition));
    }
    for (const name of options.inline ?? []) {
      if (!this.entries.has(name)) throw new InvalidProjectionError(`inline projection "${name}" is not one of the engine's projections`);
    }
    const inline = (options.inline ?? []).map((name) => this.entries.get(name)!);
    this.inline = new InlineProjections(options.eventStore, options.readModels, inline, this.changes);
    this.slots = new SlotLifecycle(options, this.changes, () => this.stopped, this.stopping.signal);
  }

  /**
   * Prepares every projection's tables and starts following the store. Resolves once all are running
   * (not caught up: use `waitForPosition` for that). A projection that cannot start is reported in its
   * status; the others start anyway.
   */
  async start(): Promise<void> {
    if (this.stopped) throw new EngineStoppedError();
    if (this.started) return;
    if ((this.options.inline ?? []).length > 0) await this.inline.checkSupport();
    this.started = true;
    await Promise.all([...this.entries.values()].map((entry) => this.slots.open(entry)));
    if (!this.stopped) this.removeAppendHook = this.inline.install();
    this.stopLagMetrics ??= observeLag('projection', async () =>
      (await this.statuses()).map((status) => ({ name: status.name, lagEvents: status.lagEvents, lagMs: status.lagMs })),
    );
  }

  /** Stops every projection after its batch in flight; checkpoints stay where they are. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopLagMetrics?.();
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
    return statusOf(this.entry(name), this.started && !this.stopped);
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
    return waitForCoverage(this.entry(name), position, options.timeoutMs ?? 5_000, () => this.stopped);
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
    return waitForStatusOf(entry, () => this.status(name), accept, options.timeoutMs ?? 5_000, options.what ?? 'the expected status');
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
    await this.slots.rebuild(entry);
  }

  /**
   * Resolves when no rebuild of the projection is pending (at once when none is).
   * @throws ProjectionFailedError when the rebuild stops on a failure.
   */
  async whenRebuilt(name: string, options: WaitOptions = {}): Promise<void> {
    return waitForRebuild(this.entry(name), options.timeoutMs ?? 60_000, () => this.stopped);
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

  private entry(name: string): ProjectionEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new UnknownProjectionError(name);
    return entry;
  }
}
