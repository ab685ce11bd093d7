import { randomUUID } from 'node:crypto';
import type { EventStore, JsonValue, RecordedEvent } from '../../../src/event-store/event-store';
import type { Position } from '../../../src/event-store/position';

/** Appends one event per item, each in its own append, and returns the last position. */
export async function appendEach(
  store: EventStore,
  items: readonly { streamName: string; type: string; data?: JsonValue }[],
): Promise<Position> {
  let last: Position | undefined;
  for (const item of items) {
    const { position } = await store.appendToStream(item.streamName, [{ id: randomUUID(), type: item.type, data: item.data ?? {} }]);
    last = position;
  }
  return last!;
}

/** A promise with its resolve, for handlers that must wait for the test. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves when `condition` holds (checked every 20 ms): a wait on a state, bounded by the timeout. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function label(event: RecordedEvent): string {
  return `${event.streamName}@${event.revision}`;
}
