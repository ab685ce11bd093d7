import { createHash } from 'node:crypto';
import { v5 as uuidV5 } from 'uuid';
import type { Message } from '../domain/message';
import { APPEND_FINGERPRINT_KEY } from '../event-store/idempotency';

/** Fixed forever: changing it would give retried commands new event ids and break idempotency. */
const EVENT_ID_NAMESPACE = 'ba1cd0e8-9c32-4de9-bb92-254d5d07e93b';

/**
 * The id of a command's `index`-th event: UUID v5 of `commandId:index`. The same command always yields
 * the same ids, so the store recognises a retried append and writes nothing twice.
 *
 * @example
 * eventIdFor('3f1c…', 0) === eventIdFor('3f1c…', 0); // true
 */
export function eventIdFor(commandId: string, index: number): string {
  return uuidV5(`${commandId}:${index}`, EVENT_ID_NAMESPACE);
}

/**
 * A fingerprint of what a command asks for — its stream, type and (validated) payload, with object
 * keys sorted — stored with its first event. A retry must match it; a different command with the same
 * id does not.
 *
 * @example
 * commandFingerprint('cart-1', { type: 'AddItem', data: { sku: 'tea', quantity: 1 } });
 */
export function commandFingerprint(streamName: string, command: Message): string {
  return createHash('sha256').update(canonicalJson([streamName, command.type, command.data])).digest('base64url');
}

/** JSON with every object's keys in sorted order, so equal values always print the same. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, current: unknown) => {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return current;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(current).sort()) sorted[key] = (current as Record<string, unknown>)[key];
    return sorted;
  });
}

/**
 * The metadata key of a command's first event that holds its {@link commandFingerprint}: the store's
 * append fingerprint, so that the store itself refuses a racing command that reused the id.
 */
export const COMMAND_HASH_KEY = APPEND_FINGERPRINT_KEY;
