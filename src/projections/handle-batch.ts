import type { RecordedEvent } from '../event-store/event-store';
import type { AnyProjection, ProjectionTransaction } from './projection';

/** Runs a projection's handler on one batch: its documents are prefetched first when it says which. */
export async function handleBatch(definition: AnyProjection, events: readonly RecordedEvent[], tx: ProjectionTransaction): Promise<void> {
  for (const [collection, keysOf] of Object.entries(definition.documentKeys ?? {})) {
    if (!keysOf) continue;
    const keys = new Set<string>();
    for (const event of events) {
      const found = keysOf(event as never);
      if (typeof found === 'string') keys.add(found);
      else if (found) for (const key of found) keys.add(key);
    }
    await tx.documents(collection).prefetch(keys);
  }
  await definition.handle(events, tx);
}
