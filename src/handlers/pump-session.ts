import type { RecordedEvent, Subscription } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { CheckpointTracker } from './checkpoint-tracker';
import { errorInfo } from './errors';
import { EventDelivery } from './event-delivery';
import { partitionOf } from './partitions';
import { matchesFilter, type ResolvedReactor } from './reactor';
import type { PumpEnvironment, ReactorPump } from './reactor-pump';
import type { ParkedEvent } from './reactor-state-store';

type Job =
  | { readonly kind: 'event'; readonly event: RecordedEvent; readonly partition: number; readonly entry: { done: boolean } }
  | { readonly kind: 'redrive-stream'; readonly streamName: string }
  | { readonly kind: 'redrive-event'; readonly parked: ParkedEvent };

interface Lane {
  readonly key: string | undefined;
  readonly jobs: Job[];
  running: boolean;
}

/** One run of a pump over a fixed set of partitions. */
export class PumpSession {
  private readonly abort = new AbortController();
  readonly tracker: CheckpointTracker;
  private readonly delivery: EventDelivery;
  private readonly lanes = new Map<string, Lane>();
  private readonly ready: Lane[] = [];
  private readyHead = 0;
  inFlight = 0;
  buffered = 0;
  caughtUp = false;
  private space: (() => void) | undefined;
  private idle: (() => void) | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly redrivesQueued = new Set<string>();
  /** Where reading resumes: the lowest checkpoint, or the start. */
  lastSeen: Position | undefined;

  constructor(
    private readonly pump: ReactorPump,
    private readonly reactor: ResolvedReactor,
    private readonly environment: PumpEnvironment,
    readonly partitions: ReadonlySet<number>,
    /** Stored checkpoints; only ever move forwards. */
    readonly checkpoints: Map<number, Position>,
    blocked: Set<string>,
    /** Positions past the checkpoints of events recorded as handled with their timers: not handled again. */
    private readonly handled: Set<string> = new Set(),
  ) {
    this.tracker = new CheckpointTracker(partitions);
    this.delivery = new EventDelivery(pump, reactor, environment, this.abort, blocked);
  }

  /** Events queued or running. */
  get queued(): number {
    return this.buffered - this.inFlight;
  }

  /** Starts the session's timers; returns where its subscription starts: the lowest checkpoint, or the start. */
  start(): Position | 'start' {
    let from: Position | undefined;
    let all = true;
    for (const partition of this.partitions) {
      const position = this.checkpoints.get(partition);
      if (!position) {
        all = false;
        break;
      }
      if (!from || position.isBefore(from)) from = position;
    }
    this.flushTimer = setInterval(() => void this.flush(), this.environment.checkpointIntervalMs);
    this.flushTimer.unref?.();
    void this.pollRedrives();
    return all && from ? from : 'start';
  }

  async read(subscription: Subscription, progressed: () => void): Promise<void> {
    const { partitionCount } = this.environment;
    for await (const message of subscription) {
      if (this.abort.signal.aborted) break;
      progressed();
      if (message.kind === 'caught-up') {
        this.caughtUp = true;
        this.pump.notifyProgress();
        continue;
      }
      const event = message.event;
      const partition = partitionOf(event.streamName, partitionCount);
      const stored = this.checkpoints.get(partition);
      if (
        !this.partitions.has(partition) ||
        (stored && !event.position.isAfter(stored)) ||
        !matchesFilter(this.reactor.filter, event) ||
        (this.handled.size > 0 && this.handled.delete(event.position.toString()))
      ) {
        this.tracker.seen(event.position);
        this.lastSeen = event.position;
        continue;
      }
      const entry = this.tracker.begin(partition, event.position);
      this.lastSeen = event.position;
      this.enqueue({ kind: 'event', event, partition, entry });
      if (this.buffered >= this.environment.bufferSize) {
        await new Promise<void>((resolve) => (this.space = resolve));
        if (this.abort.signal.aborted) break;
      }
    }
  }

  private enqueue(job: Job): void {
    this.buffered++;
    const key = this.reactor.ordering === 'per-stream' ? streamOf(job) : undefined;
    let lane = key === undefined ? undefined : this.lanes.get(key);
    if (!lane) {
      lane = { key, jobs: [], running: false };
      if (key !== undefined) this.lanes.set(key, lane);
      lane.jobs.push(job);
      this.ready.push(lane);
    } else {
      lane.jobs.push(job);
    }
    this.schedule();
  }

  private schedule(): void {
    while (this.inFlight < this.reactor.concurrency && this.readyHead < this.ready.length && !this.abort.signal.aborted) {
      const lane = this.ready[this.readyHead++]!;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready.splice(0, this.readyHead);
        this.readyHead = 0;
      }
      const job = lane.jobs.shift()!;
      lane.running = true;
      this.inFlight++;
      void this.runJob(job).then(
        () => this.finished(lane),
        (error: unknown) => {
          this.environment.logger.error({ reactor: this.reactor.name, error: errorInfo(error) }, 'reactor job failed unexpectedly');
          this.finished(lane);
        },
      );
    }
  }

  private finished(lane: Lane): void {
    this.inFlight--;
    this.buffered--;
    lane.running = false;
    if (lane.jobs.length > 0) this.ready.push(lane);
    else if (lane.key !== undefined) this.lanes.delete(lane.key);
    if (this.space && this.buffered < this.environment.bufferSize / 2) {
      const resume = this.space;
      this.space = undefined;
      resume();
    }
    this.schedule();
    if (this.inFlight === 0 && this.idle) this.idle();
    this.pump.notifyProgress();
  }

  private async runJob(job: Job): Promise<void> {
    switch (job.kind) {
      case 'event':
        return this.delivery.runEvent(job.event, job.partition, job.entry);
      case 'redrive-stream':
        this.redrivesQueued.delete(job.streamName);
        return this.delivery.redriveStream(job.streamName);
      case 'redrive-event':
        this.redrivesQueued.delete(job.parked.event.id);
        return this.delivery.redriveEvent(job.parked);
      default: {
        const _never: never = job;
        return _never;
      }
    }
  }

  async pollRedrives(): Promise<void> {
    if (this.abort.signal.aborted) return;
    let requested: ParkedEvent[];
    try {
      requested = await this.environment.state.redriveRequested(this.reactor.name, [...this.partitions], 1_000);
    } catch (error) {
      this.environment.logger.warn({ reactor: this.reactor.name, error: errorInfo(error) }, 'could not look for redrive requests');
      return;
    }
    for (const parked of requested) {
      if (this.abort.signal.aborted) return;
      if (this.reactor.ordering === 'per-stream') {
        if (this.redrivesQueued.has(parked.event.streamName)) continue;
        this.redrivesQueued.add(parked.event.streamName);
        this.enqueue({ kind: 'redrive-stream', streamName: parked.event.streamName });
      } else {
        if (this.redrivesQueued.has(parked.event.id)) continue;
        this.redrivesQueued.add(parked.event.id);
        this.enqueue({ kind: 'redrive-event', parked });
      }
    }
  }

  /** Writes the invocation log and the checkpoints of finished work. Serialised. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    await this.pump.flushInvocations();
    const changed = new Map<number, Position>();
    for (const [partition, position] of this.tracker.safePositions()) {
      const stored = this.checkpoints.get(partition);
      if (!stored || position.isAfter(stored)) changed.set(partition, position);
    }
    if (changed.size === 0) return;
    try {
      const fence = this.environment.fenced ? { group: this.environment.group, workerId: this.environment.workerId } : undefined;
      const lost = await this.environment.state.saveCheckpoints(this.reactor.name, changed, fence);
      for (const [partition, position] of changed) if (!lost.includes(partition)) this.checkpoints.set(partition, position);
      if (lost.length > 0) this.environment.onLeaseLost(lost);
    } catch (error) {
      this.environment.logger.warn({ reactor: this.reactor.name, error: errorInfo(error) }, 'could not save checkpoints; will retry');
    }
    this.pump.notifyProgress();
  }

  /** Stops reading and handling: running handlers see the signal, a reader waiting for space wakes. */
  interrupt(): void {
    this.abort.abort();
    this.space?.();
  }

  /** Ends the session once its subscription is closed: lets running handlers finish, checkpoints them. */
  async halt(): Promise<void> {
    this.interrupt();
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.flush();
  }
}

function streamOf(job: Job): string {
  switch (job.kind) {
    case 'event':
      return job.event.streamName;
    case 'redrive-stream':
      return job.streamName;
    case 'redrive-event':
      return job.parked.event.streamName;
    default: {
      const _never: never = job;
      return _never;
    }
  }
}

