import { Position } from '../../event-store/position';
import type { ProjectionChange } from '../../projections/change-feed';
import type { SlotLayout } from '../../projections/read-model-store';

/** The channel batches are announced on; NOTIFY is transactional, so listeners only hear of commits. */
export const CHANGE_CHANNEL = 'eventfold_projection_changes';
/** NOTIFY payloads must stay under 8,000 bytes; longer key lists are announced as `'all'`. */
const MAX_PAYLOAD_BYTES = 7_000;

/** What a NOTIFY carries: short keys, to leave room for changed document keys. */
interface ChangePayload {
  readonly p: string;
  readonly v: number;
  readonly pos: string;
  readonly k: readonly string[] | null;
}

/** The NOTIFY payload announcing that a batch of `layout` reached `position`, changing `keys`. */
export function changePayload(layout: SlotLayout, position: string, keys: readonly string[]): string {
  const full = JSON.stringify({ p: layout.projection, v: layout.version, pos: position, k: keys } satisfies ChangePayload);
  if (Buffer.byteLength(full) <= MAX_PAYLOAD_BYTES) return full;
  return JSON.stringify({ p: layout.projection, v: layout.version, pos: position, k: null } satisfies ChangePayload);
}

/** The change a payload announces, or `undefined` for a payload that is not ours. */
export function parseChangePayload(payload: string): ProjectionChange | undefined {
  try {
    const parsed = JSON.parse(payload) as ChangePayload;
    return { projection: parsed.p, version: parsed.v, position: Position.parse(parsed.pos), keys: parsed.k ? [...parsed.k] : 'all' };
  } catch {
    // Not ours: someone else NOTIFYing on the channel. Nothing to announce.
    return undefined;
  }
}
