import { isDeepStrictEqual } from 'node:util';
import type { CopySource, CopyTarget, SourceEvent } from './copy-endpoint';
import type { ImportCheckpoint } from '../../event-store/store-admin';

export interface CopyOptions {
  /** Events per batch (one transaction with its checkpoint). */
  readonly batchSize: number;
  /** Checked between batches: an aborted copy stops after the batch in hand, resumable. */
  readonly signal: AbortSignal;
  readonly onProgress?: (done: number, total: number | undefined) => void;
}

export interface CopyReport {
  /** Source events covered in all, this run and earlier ones. */
  readonly count: number;
  /** Events written by this run. */
  readonly copied: number;
  /** Events of this run that the target already held (same id, stream and revision). */
  readonly skipped: number;
  /** Events an earlier, interrupted run had covered. */
  readonly resumedFrom: number;
  readonly interrupted: boolean;
}

/**
 * Copies the source's events into the target in `$all` order, a batch at a time, each batch with its
 * checkpoint in one transaction. It starts after the target's checkpoint for this source, so a copy
 * that was killed resumes where its last committed batch ended.
 */
export async function copyEvents(source: CopySource, target: CopyTarget, options: CopyOptions): Promise<CopyReport> {
  const checkpoint = await target.checkpoint(source.key);
  const resumedFrom = checkpoint?.count ?? 0;
  const total = await source.count();
  let count = resumedFrom;
  let copied = 0;
  let skipped = 0;
  let batch: SourceEvent[] = [];
  options.onProgress?.(count, total);
  const flush = async (): Promise<void> => {
    const last = batch[batch.length - 1]!;
    const next: ImportCheckpoint = { source: source.key, position: last.position, count: count + batch.length };
    const result = await target.write(batch, next);
    count = next.count;
    copied += result.imported;
    skipped += result.skipped;
    batch = [];
    options.onProgress?.(count, total === undefined ? undefined : Math.max(total, count));
  };
  if (options.signal.aborted) return { count, copied, skipped, resumedFrom, interrupted: true };
  for await (const event of source.read(checkpoint)) {
    batch.push(event);
    if (batch.length >= options.batchSize) {
      await flush();
      if (options.signal.aborted) return { count, copied, skipped, resumedFrom, interrupted: true };
    }
  }
  if (batch.length > 0) await flush();
  return { count, copied, skipped, resumedFrom, interrupted: false };
}

/** Where a copy's target differs from its source. */
export interface CopyMismatch {
  /** 0-based index in `$all` order. */
  readonly index: number;
  readonly reason: string;
  /** Set when the verification was stopped (Ctrl-C) before it got to the end: nothing differs so far. */
  readonly interrupted?: boolean;
}

/**
 * Reads the first `count` events of the source and everything the target holds, side by side, and
 * compares ids, streams, revisions, types, data, metadata and recorded times (not positions: each store
 * has its own). The target must hold exactly those events, in the same order.
 */
export async function verifyCopy(source: CopySource, target: CopyTarget, count: number, signal: AbortSignal): Promise<CopyMismatch | undefined> {
  const fromSource = source.read(undefined)[Symbol.asyncIterator]();
  const fromTarget = target.read()[Symbol.asyncIterator]();
  try {
    for (let index = 0; ; index++) {
      if (signal.aborted) return { index, reason: 'verification interrupted', interrupted: true };
      const expected: SourceEvent | undefined = index < count ? await nextOf(fromSource) : undefined;
      const actual = await nextOf(fromTarget);
      if (!expected && !actual) return undefined;
      if (!expected) return { index, reason: `the target holds more events than the ${count} copied, from ${describe(actual!)}` };
      if (!actual) return { index, reason: `the target ends before ${describe(expected)}` };
      const difference = differs(expected, actual);
      if (difference) return { index, reason: `${describe(expected)}: ${difference}` };
    }
  } finally {
    await fromSource.return?.();
    await fromTarget.return?.();
  }
}

async function nextOf(iterator: AsyncIterator<SourceEvent>): Promise<SourceEvent | undefined> {
  const next = await iterator.next();
  return next.done ? undefined : next.value;
}

function describe(event: SourceEvent): string {
  return `${event.streamName}@${event.revision} (${event.id})`;
}

function differs(expected: SourceEvent, actual: SourceEvent): string | undefined {
  if (expected.id !== actual.id) return `the target has event ${actual.id} (${actual.streamName}@${actual.revision}) there`;
  if (expected.streamName !== actual.streamName || expected.revision !== actual.revision) {
    return `the target holds it at ${actual.streamName}@${actual.revision}`;
  }
  if (expected.type !== actual.type) return `type ${actual.type} instead of ${expected.type}`;
  if (!isDeepStrictEqual(expected.data, actual.data)) return 'its data differs';
  if (!isDeepStrictEqual(expected.metadata, actual.metadata)) return 'its metadata differs';
  if (expected.recordedAt.getTime() !== actual.recordedAt.getTime()) {
    return `recorded at ${actual.recordedAt.toISOString()} instead of ${expected.recordedAt.toISOString()}`;
  }
  return undefined;
}
