import { withTimeout } from '../internal/delay';
import type { ProjectionEngine } from '../projections/projection-engine';
import type { ApiServices } from './api-context';

/**
 * What `/readyz` reports: ready when the event store answers and no projection has failed.
 *
 * @example
 * const { ready, checks } = await api.readiness(); // checks: { store: 'ok', projections: 'failed: order-summary', server: 'ok' }
 */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: { readonly store: string; readonly projections: string; readonly server: string };
}

/** How long one check may take: a readiness probe must answer even when a database hangs. */
const CHECK_TIMEOUT_MS = 2_000;

/** Checks the store and the projections (the engine's statuses, or the read-model store's records). */
export async function checkReadiness(services: ApiServices, engine: ProjectionEngine | undefined, closing: boolean): Promise<Readiness> {
  if (closing) return { ready: false, checks: { store: 'unknown', projections: 'unknown', server: 'shutting down' } };
  const store = await withTimeout(services.eventStore.headPosition(), CHECK_TIMEOUT_MS, timedOut).then(
    () => 'ok',
    (error: unknown) => `unreachable: ${error instanceof Error ? (error as { code?: string }).code ?? error.name : 'error'}`,
  );
  let projections = 'ok';
  try {
    const failed = await failedProjections(services, engine);
    if (failed.length > 0) projections = `failed: ${failed.join(', ')}`;
  } catch {
    projections = 'unknown: the read-model store is unreachable';
  }
  return { ready: store === 'ok' && projections === 'ok', checks: { store, projections, server: 'ok' } };
}

async function failedProjections(services: ApiServices, engine: ProjectionEngine | undefined): Promise<string[]> {
  if (engine) {
    const statuses = await withTimeout(engine.statuses(), CHECK_TIMEOUT_MS, timedOut);
    return statuses.filter((status) => status.state === 'failed').map((status) => status.name);
  }
  const failed: string[] = [];
  for (const projection of services.projectionDefinitions) {
    const record = await withTimeout(services.readModels.load(projection.name), CHECK_TIMEOUT_MS, timedOut);
    const active = record.active;
    const slot = active && record.slots.find((candidate) => candidate.version === active.version && candidate.generation === active.generation);
    if (slot?.failure) failed.push(projection.name);
  }
  return failed;
}

const timedOut = (): Error => new Error('timed out');
