import type { Position } from '../event-store/position';
import { ProgressSignal } from './progress-signal';
import type { AnyProjection } from './projection';
import type { ProjectionErrorInfo } from './projection-status';
import type { SlotLayout } from './read-model-store';
import type { SlotRunner } from './slot-runner';

/** A slot of a projection: the runner that fills it, or none for an old version kept only to serve. */
export interface SlotHandle {
  readonly layout: SlotLayout;
  readonly runner: SlotRunner | undefined;
  /** For a slot without a runner: its stored checkpoint. */
  readonly storedPosition: Position | undefined;
  readonly storedEventsHandled: number;
}

export interface RebuildHandle extends SlotHandle {
  readonly runner: SlotRunner;
  readonly startedAt: Date;
  readonly handledAtStart: number;
}

export interface ProjectionEntry {
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

/** A projection as registered: nothing opened yet. */
export function newEntry(definition: AnyProjection): ProjectionEntry {
  return { definition, active: undefined, rebuild: undefined, blocked: undefined, opening: undefined, switching: undefined, progress: new ProgressSignal() };
}
