import type { Position } from '../event-store/position';

interface Entry {
  readonly position: Position;
  /** The last position seen before this event: the checkpoint while this event is unfinished. */
  readonly before: Position | undefined;
  done: boolean;
}

/** A FIFO of one partition's unfinished events; popped from the head as they finish. */
class PartitionQueue {
  private entries: Entry[] = [];
  private head = 0;

  push(entry: Entry): void {
    this.entries.push(entry);
  }

  /** Drops finished entries at the head; returns the first unfinished one. */
  firstUnfinished(): Entry | undefined {
    while (this.head < this.entries.length && this.entries[this.head]!.done) this.head++;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return this.entries[this.head];
  }

  get size(): number {
    return this.entries.length - this.head;
  }
}

/**
 * Which positions a reactor may checkpoint, per partition: everything up to the last position seen
 * before the partition's first unfinished event (never past unfinished work), or everything seen when
 * nothing is unfinished. Events of other partitions, and events the reactor skips, count as seen.
 */
export class CheckpointTracker {
  private readonly queues = new Map<number, PartitionQueue>();
  private lastSeen: Position | undefined;

  constructor(private readonly partitions: ReadonlySet<number>) {
    for (const partition of partitions) this.queues.set(partition, new PartitionQueue());
  }

  /** Notes an event that needs no work here (another partition, or handled already). */
  seen(position: Position): void {
    this.lastSeen = position;
  }

  /** Notes an event that will be handled; call `finish` on the returned handle when it is. */
  begin(partition: number, position: Position): { done: boolean } {
    const entry: Entry = { position, before: this.lastSeen, done: false };
    this.queues.get(partition)!.push(entry);
    this.lastSeen = position;
    return entry;
  }

  /** What each partition may checkpoint now (absent: nothing yet). */
  safePositions(): Map<number, Position> {
    const result = new Map<number, Position>();
    for (const partition of this.partitions) {
      const unfinished = this.queues.get(partition)!.firstUnfinished();
      const safe = unfinished ? unfinished.before : this.lastSeen;
      if (safe) result.set(partition, safe);
    }
    return result;
  }

  /** Events begun and not finished, all partitions. */
  get pending(): number {
    let total = 0;
    for (const queue of this.queues.values()) total += queue.size;
    return total;
  }
}
