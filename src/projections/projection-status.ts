import type { Position } from '../event-store/position';
import type { ProjectionEntry, RebuildHandle } from './projection-entry';
import { errorInfo } from './error-info';

/** Where a projection is: reading history, at the head, stopped by request, or stopped on a failure. */
export type ProjectionState = 'catching-up' | 'live' | 'stopped' | 'failed';

/** The event a projection failed on. */
export interface FailedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamName: string;
  readonly position: Position;
}

/** The last error a projection met, and the event it happened on when there was one. */
export interface ProjectionErrorInfo {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
  readonly at: Date;
  readonly event?: FailedEvent;
}

/** One version's progress. */
export interface SlotStatus {
  readonly version: number;
  readonly state: ProjectionState;
  /** The last event whose effect is committed. */
  readonly position: Position | undefined;
  /** Events handled into this version so far (all processes). */
  readonly eventsHandled: number;
  /**
   * Events in the store after what this version has covered, counting every event type; 0 when it
   * has covered the head. Undefined when the store cannot count (positions that are not sequences).
   */
  readonly lagEvents: number | undefined;
  /** How long ago the oldest event still to be handled was recorded; 0 when there is none. */
  readonly lagMs: number;
  readonly lastError: ProjectionErrorInfo | undefined;
  /** Set while a database failure is being retried. */
  readonly retry: { readonly attempt: number; readonly nextAttemptAt: Date } | undefined;
}

/** A rebuild in progress: the new version filling its own tables while the old one serves. */
export interface RebuildStatus extends SlotStatus {
  readonly generation: number;
  readonly startedAt: Date;
  /** Events of the store covered so far, and at the head (counting every event type). */
  readonly eventsDone: number | undefined;
  readonly eventsTotal: number | undefined;
  /** Events handled per second since the rebuild started in this process. */
  readonly eventsPerSecond: number;
}

/**
 * A projection's status as `engine.status(name)` reports it.
 *
 * @example
 * const status = await engine.status('order-summary');
 * if (status.state === 'failed') alert(status.lastError?.event?.id);
 */
export interface ProjectionStatus extends SlotStatus {
  readonly name: string;
  /** The version in the code; `version` is the one readers see, lower while a version bump rebuilds. */
  readonly definedVersion: number;
  readonly rebuild: RebuildStatus | undefined;
}

/** A projection's status: its readable version's runner's, or what is stored of a version that only serves. */
export async function statusOf(entry: ProjectionEntry, running: boolean): Promise<ProjectionStatus> {
  const name = entry.definition.name;
  const { definition } = entry;
  const active = entry.active;
  const rebuild = entry.rebuild;
  const rebuilding = rebuild ? await rebuildStatus(rebuild) : undefined;
  let slot: SlotStatus;
  if (active?.runner) {
    slot = await active.runner.status();
  } else {
    // No runner: an older version that only serves while the new one rebuilds, or nothing at all.
    const position = active?.storedPosition;
    const behind = rebuilding ? { lagEvents: rebuilding.lagEvents, lagMs: rebuilding.lagMs } : { lagEvents: undefined, lagMs: 0 };
    slot = {
      version: active?.layout.version ?? definition.version,
      state: entry.blocked ? 'failed' : !running ? 'stopped' : 'catching-up',
      position,
      eventsHandled: active?.storedEventsHandled ?? 0,
      ...behind,
      lastError: entry.blocked ? errorInfo(entry.blocked) : entry.opening,
      retry: undefined,
    };
  }
  return { ...slot, name, definedVersion: definition.version, rebuild: rebuilding };
}

async function rebuildStatus(rebuild: RebuildHandle): Promise<RebuildStatus> {
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
