import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { REDACTED, type PersonalPath } from '../domain/personal-data';
import type { EventMetadata, JsonObject, JsonValue } from '../event-store/event-store';
import { APPEND_FINGERPRINT_KEY } from '../event-store/idempotency';
import { PersonalDataUnreadableError } from './errors';
import type { SubjectKey } from './key-store';

/**
 * The metadata key that says an event holds sealed values: `{ key, data, metadata }`, the key's id and
 * the paths of the sealed values in `data` and `metadata`. Stored in the clear (ids and field names
 * only), so a reader finds an event's key without decrypting anything.
 */
export const PERSONAL_DATA_KEY = 'personalData';

/** A sealed value as stored: `{ "$sealed": base64(iv ‖ ciphertext ‖ tag) }`. */
export const SEALED_KEY = '$sealed';

const REDACTED_JSON = REDACTED as unknown as JsonValue;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface SealedMarker {
  readonly key: string;
  readonly data: readonly PersonalPath[];
  readonly metadata: readonly string[];
}

/** An event's parts the seal covers; both `EventData` and `RecordedEvent` have them. */
interface SealableEvent {
  readonly id: string;
  readonly type: string;
  readonly data: JsonValue;
  readonly metadata?: EventMetadata;
}

/**
 * Encrypts the values at `paths` of the event's data, and its command fingerprint (a hash of the
 * command, personal fields included), with AES-256-GCM under the subject's key: a fresh random IV per
 * value, and the event's id, type and the value's place as associated data, so a sealed value moved to
 * another event or field no longer opens. Paths with no value are left alone.
 */
export function sealEvent<Event extends SealableEvent>(event: Event, paths: readonly PersonalPath[], subjectKey: SubjectKey): Event {
  const sealedPaths: PersonalPath[] = [];
  let data = event.data;
  for (const path of paths) {
    const value = valueAt(data, path);
    if (value === undefined) continue;
    data = replaceAt(data, path, seal(value, subjectKey.key, aad(event, 'data', path)));
    sealedPaths.push(path);
  }
  const metadata: JsonObject = { ...(event.metadata ?? {}) };
  const sealedMetadata: string[] = [];
  const fingerprint = metadata[APPEND_FINGERPRINT_KEY];
  if (sealedPaths.length > 0 && fingerprint !== undefined) {
    metadata[APPEND_FINGERPRINT_KEY] = seal(fingerprint, subjectKey.key, aad(event, 'metadata', [APPEND_FINGERPRINT_KEY]));
    sealedMetadata.push(APPEND_FINGERPRINT_KEY);
  }
  if (sealedPaths.length === 0) return event;
  metadata[PERSONAL_DATA_KEY] = { key: subjectKey.keyId, data: sealedPaths.map((path) => [...path]), metadata: sealedMetadata };
  return { ...event, data, metadata };
}

/** The id of the key that sealed the event's values; undefined for an event with none. */
export function sealedKeyId(metadata: EventMetadata): string | undefined {
  const marker = metadata[PERSONAL_DATA_KEY];
  if (marker === undefined) return undefined;
  return markerOf(marker, '?').key;
}

/**
 * The event with its sealed values opened with `key`, or, when the key is gone (`undefined`), each
 * replaced by the redacted value. The marker stays in the metadata, so the audit API shows which
 * fields were personal.
 *
 * @throws PersonalDataUnreadableError when a sealed value does not open with its existing key.
 */
export function revealEvent<Event extends SealableEvent>(event: Event, key: Uint8Array | undefined): Event {
  const rawMarker = event.metadata?.[PERSONAL_DATA_KEY];
  if (rawMarker === undefined) return event;
  const marker = markerOf(rawMarker, event.id);
  let data = event.data;
  for (const path of marker.data) {
    const sealed = valueAt(data, path);
    data = replaceAt(data, path, key ? open(sealed, key, aad(event, 'data', path), event.id, `data.${path.join('.')}`) : REDACTED_JSON);
  }
  const metadata: JsonObject = { ...event.metadata };
  for (const name of marker.metadata) {
    metadata[name] = key ? open(metadata[name], key, aad(event, 'metadata', [name]), event.id, `metadata.${name}`) : REDACTED_JSON;
  }
  return { ...event, data, metadata };
}

/**
 * Seals again the values of an event that {@link revealEvent} opened, under the same key (fresh IVs),
 * for copies kept outside the event table (parked events); with the key gone they stay redacted.
 */
export function resealEvent<Event extends SealableEvent>(event: Event, key: Uint8Array | undefined): Event {
  const rawMarker = event.metadata?.[PERSONAL_DATA_KEY];
  if (rawMarker === undefined) return event;
  const marker = markerOf(rawMarker, event.id);
  let data = event.data;
  for (const path of marker.data) {
    data = replaceAt(data, path, key ? seal(valueAt(data, path) ?? null, key, aad(event, 'data', path)) : REDACTED_JSON);
  }
  const metadata: JsonObject = { ...event.metadata };
  for (const name of marker.metadata) {
    metadata[name] = key ? seal(metadata[name] ?? null, key, aad(event, 'metadata', [name])) : REDACTED_JSON;
  }
  return { ...event, data, metadata };
}

function aad(event: SealableEvent, root: 'data' | 'metadata', path: PersonalPath): Buffer {
  return Buffer.from(JSON.stringify([event.id, event.type, root, path]));
}

/**
 * IVs drawn from a pool of random bytes filled 256 IVs at a time: one call into the CSPRNG per pool
 * instead of one per value (a small `randomBytes` costs about as much as the encryption). Each IV is
 * still random and used once.
 */
const IV_POOL_SIZE = IV_BYTES * 256;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_SIZE);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

function seal(value: JsonValue, key: Uint8Array, associated: Buffer): JsonValue {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associated);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return { [SEALED_KEY]: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64') };
}

function open(sealed: JsonValue | undefined, key: Uint8Array, associated: Buffer, eventId: string, field: string): JsonValue {
  const text = sealed !== null && typeof sealed === 'object' && !Array.isArray(sealed) ? sealed[SEALED_KEY] : undefined;
  if (typeof text !== 'string') throw new PersonalDataUnreadableError(eventId, field);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new PersonalDataUnreadableError(eventId, field);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(associated);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const plaintext = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    return JSON.parse(plaintext.toString('utf8')) as JsonValue;
  } catch (error) {
    throw new PersonalDataUnreadableError(eventId, field, { cause: error });
  }
}

function markerOf(value: JsonValue, eventId: string): SealedMarker {
  const marker = value as Partial<Record<keyof SealedMarker, unknown>> | null;
  const pathsOk = (paths: unknown, item: (path: unknown) => boolean): boolean => Array.isArray(paths) && paths.every(item);
  if (
    marker === null ||
    typeof marker !== 'object' ||
    typeof marker.key !== 'string' ||
    !pathsOk(marker.data, (path) => Array.isArray(path) && path.length > 0 && path.every((part) => typeof part === 'string')) ||
    !pathsOk(marker.metadata, (name) => typeof name === 'string')
  ) {
    throw new PersonalDataUnreadableError(eventId, `metadata.${PERSONAL_DATA_KEY}`);
  }
  return marker as SealedMarker;
}

function valueAt(value: JsonValue | undefined, path: PersonalPath): JsonValue | undefined {
  let current = value;
  for (const part of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

/** A copy of `value` with the value at `path` replaced; only the objects along the path are copied. */
function replaceAt(value: JsonValue, path: PersonalPath, replacement: JsonValue, depth = 0): JsonValue {
  if (depth === path.length) return replacement;
  const object = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
  const part = path[depth]!;
  return { ...object, [part]: replaceAt(object[part] ?? null, path, replacement, depth + 1) };
}
