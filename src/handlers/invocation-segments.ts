import type { ReactorErrorInfo } from './errors';
import type { Invocation, InvocationQuery } from './reactor-state-store';

/**
 * The invocation log is stored in segments: one row per (reactor, worker) per flush, holding that
 * flush's attempts as a JSON array. A row per attempt would cost a b-tree insert per handled event —
 * more than handling it — while a segment costs one. Queries expand segments, newest first.
 */
export interface InvocationSegment {
  readonly reactor: string;
  readonly workerId: string;
  /** The latest attempt's time (ms); retention deletes whole segments by it. */
  readonly at: number;
  readonly firstPosition: string;
  readonly lastPosition: string;
  readonly count: number;
  /** JSON array of {@link SegmentEntry}. */
  readonly entries: string;
}

/** One attempt inside a segment: event id, stream, position, attempt, outcome, duration, error, time (ms). */
type SegmentEntry = [string, string, string, number, Invocation['outcome'], number, ReactorErrorInfo | null, number];

export function toSegments(invocations: readonly Invocation[]): InvocationSegment[] {
  const groups = new Map<string, Invocation[]>();
  for (const invocation of invocations) {
    const key = `${invocation.reactor}\u0000${invocation.workerId}`;
    const group = groups.get(key);
    if (group) group.push(invocation);
    else groups.set(key, [invocation]);
  }
  return [...groups.values()].map((group) => {
    let first = group[0]!.position;
    let last = first;
    let at = 0;
    const entries: SegmentEntry[] = group.map((invocation) => {
      if (invocation.position < first) first = invocation.position;
      if (invocation.position > last) last = invocation.position;
      const time = invocation.at.getTime();
      if (time > at) at = time;
      return [
        invocation.eventId,
        invocation.streamName,
        invocation.position,
        invocation.attempt,
        invocation.outcome,
        Math.round(invocation.durationMs * 1000) / 1000,
        invocation.error ?? null,
        time,
      ];
    });
    return { reactor: group[0]!.reactor, workerId: group[0]!.workerId, at, firstPosition: first, lastPosition: last, count: group.length, entries: JSON.stringify(entries) };
  });
}

/** A segment's attempts that match the query, newest first. */
export function expandSegment(reactor: string, workerId: string, entries: string, query: InvocationQuery): Invocation[] {
  const parsed = JSON.parse(entries) as SegmentEntry[];
  const result: Invocation[] = [];
  for (let index = parsed.length - 1; index >= 0; index--) {
    const [eventId, streamName, position, attempt, outcome, durationMs, error, at] = parsed[index]!;
    if (query.eventId !== undefined && eventId !== query.eventId) continue;
    if (query.position !== undefined && position !== query.position) continue;
    result.push({ reactor, eventId, streamName, position, attempt, outcome, durationMs, ...(error ? { error } : {}), at: new Date(at), workerId });
  }
  return result;
}
