import { within } from '../internal/delay';
import type { Position } from '../event-store/position';
import {
  EngineStoppedError,
  ProjectionFailedError,
  RebuildTimeoutError,
  WaitForPositionTimeoutError,
  WaitForStateTimeoutError,
} from './errors';
import type { ProjectionEntry } from './projection-entry';
import type { ProjectionStatus } from './projection-status';

// Every wait takes `progress.next()` before it looks, and looks again on every change of the
// projection (commit, state change, switch-over): never on a timer.

/** Resolves when the readable version covers `position`; see `ProjectionEngine.waitForPosition`. */
export async function waitForCoverage(entry: ProjectionEntry, position: Position, timeoutMs: number, isStopped: () => boolean): Promise<void> {
  const name = entry.definition.name;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progressed = entry.progress.next();
    const runner = entry.active?.runner;
    if (runner?.covers(position)) return;
    if (isStopped()) throw new EngineStoppedError();
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

/** Resolves with the status once `accept` takes it; see `ProjectionEngine.waitForStatus`. */
export async function waitForStatusOf(
  entry: ProjectionEntry,
  readStatus: () => Promise<ProjectionStatus>,
  accept: (status: ProjectionStatus) => boolean,
  timeoutMs: number,
  what: string,
): Promise<ProjectionStatus> {
  const name = entry.definition.name;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progressed = entry.progress.next();
    const status = await readStatus();
    if (accept(status)) return status;
    const remaining = deadline - Date.now();
    if (remaining <= 0 || !(await within(progressed, remaining))) {
      throw new WaitForStateTimeoutError(name, what, timeoutMs, status.state);
    }
  }
}

/** Resolves when no rebuild is pending; see `ProjectionEngine.whenRebuilt`. */
export async function waitForRebuild(entry: ProjectionEntry, timeoutMs: number, isStopped: () => boolean): Promise<void> {
  const name = entry.definition.name;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progressed = entry.progress.next();
    if (!entry.rebuild && !entry.switching) return;
    if (isStopped()) throw new EngineStoppedError();
    if (entry.rebuild?.runner.state === 'failed') {
      throw new ProjectionFailedError(name, `rebuild failed: ${entry.rebuild.runner.lastError?.message ?? ''}`);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0 || !(await within(progressed, remaining))) {
      throw new RebuildTimeoutError(name, timeoutMs);
    }
  }
}


