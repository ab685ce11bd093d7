import { randomUUID } from 'node:crypto';
import type { EventStore } from '../../../src/event-store/event-store';

/** Appends `streams × perStream` `order-` events, interleaving the streams; returns their ids. */
export async function appendOrders(store: EventStore, streams: number, perStream: number): Promise<string[]> {
  const ids: string[] = [];
  for (let round = 0; round < perStream; round++) {
    await Promise.all(
      Array.from({ length: streams }, (_, stream) => {
        const id = randomUUID();
        ids.push(id);
        return store.appendToStream(`order-${stream}`, [{ id, type: 'Step', data: { round } }]);
      }),
    );
  }
  return ids;
}

/** How many Recorded events each source event id has. */
export async function recordedCounts(store: EventStore): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const event of store.readAll({ filter: { eventTypes: ['Recorded'] } })) {
    const { eventId } = event.data as { eventId: string };
    counts.set(eventId, (counts.get(eventId) ?? 0) + 1);
  }
  return counts;
}

/** Every source id recorded exactly once, and nothing else recorded. */
export function expectExactlyOnce(counts: Map<string, number>, ids: readonly string[]): void {
  const missing = ids.filter((id) => !counts.has(id));
  const doubled = [...counts.entries()].filter(([, count]) => count !== 1);
  const unknown = [...counts.keys()].filter((id) => !ids.includes(id));
  expect({ missing: missing.length, doubled: doubled.length, unknown: unknown.length }).toEqual({ missing: 0, doubled: 0, unknown: 0 });
  expect(counts.size).toBe(ids.length);
}
