// An event type that changed shape: version 1 stored `qty`, version 2 (current) has `quantity` and a price.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineEvents, upcaster, versioned, type EventOf } from '../../src/domain';
import type { EventData } from '../../src/event-store/event-store';

export const orderLineEvents = defineEvents({
  LineAdded: versioned(z.object({ sku: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int() }), [
    upcaster(z.object({ sku: z.string(), qty: z.number().int() }), (v1) => ({ sku: v1.sku, quantity: v1.qty, unitPriceCents: 0 })),
  ]),
  OrderNoted: z.object({ note: z.string() }),
});
export type OrderLineEvent = EventOf<typeof orderLineEvents>;

/** A LineAdded as code from before version 2 wrote it: the old shape and schema version 1. */
export function lineAddedV1(sku: string, qty: number): EventData {
  return { id: randomUUID(), type: 'LineAdded', data: { sku, qty }, metadata: { schemaVersion: 1 } };
}

/** A LineAdded written before the type was versioned at all: no schema version (read as 1). */
export function lineAddedUnversioned(sku: string, qty: number): EventData {
  return { id: randomUUID(), type: 'LineAdded', data: { sku, qty } };
}

/** What both stored v1 events look like in the current schema. */
export const currentLines = [
  { sku: 'tea', quantity: 2, unitPriceCents: 0 },
  { sku: 'jam', quantity: 5, unitPriceCents: 0 },
];
