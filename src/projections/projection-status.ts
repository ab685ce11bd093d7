import type { Position } from '../event-store/position';

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
