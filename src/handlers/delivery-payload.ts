import type { EventMetadata, JsonValue, RecordedEvent } from '../event-store/event-store';
import { Position } from '../event-store/position';
import { InvalidDeliveryError } from './errors';
import type { DeliveryInfo } from './reactor';

/**
 * The JSON body a webhook reactor POSTs. Revisions and positions are strings (a revision can exceed
 * 2^53; a position is opaque).
 *
 * @example
 * { "idempotencyKey": "…", "reactor": "payment", "delivery": { "attempt": 1, "maxAttempts": 5 },
 *   "event": { "id": "…", "type": "PaymentRequested", "streamName": "order-42", "revision": "3",
 *              "position": "0000…", "data": { … }, "metadata": { … }, "recordedAt": "2026-…Z" } }
 */
export interface DeliveryPayload {
  readonly idempotencyKey: string;
  readonly reactor: string;
  readonly delivery: DeliveryInfo;
  readonly event: {
    readonly id: string;
    readonly type: string;
    readonly streamName: string;
    readonly revision: string;
    readonly position: string;
    readonly data: JsonValue;
    readonly metadata: EventMetadata;
    readonly recordedAt: string;
  };
}

/**
 * The body a webhook reactor POSTs for one event.
 *
 * @example
 * const body = JSON.stringify(toDeliveryPayload('payment', event, { attempt: 1, maxAttempts: 5 }));
 */
export function toDeliveryPayload(reactor: string, event: RecordedEvent, delivery: DeliveryInfo): DeliveryPayload {
  return {
    idempotencyKey: event.id,
    reactor,
    delivery: { attempt: delivery.attempt, maxAttempts: delivery.maxAttempts },
    event: {
      id: event.id,
      type: event.type,
      streamName: event.streamName,
      revision: event.revision.toString(),
      position: event.position.toString(),
      data: event.data,
      metadata: event.metadata,
      recordedAt: event.recordedAt.toISOString(),
    },
  };
}

/**
 * Reads a delivery body back into the event and delivery info a handler gets.
 *
 * @example
 * const { reactor, event, delivery } = parseDelivery(rawBody);
 * @throws InvalidDeliveryError naming the first field that is wrong.
 */
export function parseDelivery(body: string): { reactor: string; event: RecordedEvent; delivery: DeliveryInfo } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidDeliveryError('the delivery body is not JSON');
  }
  const payload = object(value, 'body');
  const event = object(payload.event, 'event');
  const delivery = object(payload.delivery, 'delivery');
  const revisionText = string(event.revision, 'event.revision');
  if (!/^\d{1,19}$/.test(revisionText)) throw new InvalidDeliveryError('event.revision must be a non-negative integer string');
  let position: Position;
  try {
    position = Position.parse(string(event.position, 'event.position'));
  } catch {
    throw new InvalidDeliveryError('event.position is not a serialised position');
  }
  const recordedAt = new Date(string(event.recordedAt, 'event.recordedAt'));
  if (Number.isNaN(recordedAt.getTime())) throw new InvalidDeliveryError('event.recordedAt is not a date');
  const attempt = integer(delivery.attempt, 'delivery.attempt');
  const maxAttempts = integer(delivery.maxAttempts, 'delivery.maxAttempts');
  const id = string(event.id, 'event.id');
  if (string(payload.idempotencyKey, 'idempotencyKey') !== id) throw new InvalidDeliveryError('idempotencyKey must be the event id');
  return {
    reactor: string(payload.reactor, 'reactor'),
    delivery: { attempt, maxAttempts },
    event: {
      id,
      type: string(event.type, 'event.type'),
      streamName: string(event.streamName, 'event.streamName'),
      revision: BigInt(revisionText),
      position,
      data: (event.data ?? null) as JsonValue,
      metadata: object(event.metadata, 'event.metadata') as EventMetadata,
      recordedAt,
    },
  };
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidDeliveryError(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidDeliveryError(`${field} must be a non-empty string`);
  return value;
}

function integer(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new InvalidDeliveryError(`${field} must be a positive integer`);
  return value;
}
