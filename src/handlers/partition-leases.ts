import { within } from '../internal/delay';
import { errorInfo } from './errors';
import type { ReactorLogger } from './reactor';
import type { ReactorStateStore } from './reactor-state-store';

/** Who this worker is in its group, and how leases are kept. */
export interface LeaseSettings {
  readonly state: ReactorStateStore;
  readonly group: string;
  readonly workerId: string;
  readonly partitionCount: number;
  readonly leaseMs: number;
  readonly logger: ReactorLogger;
}

/**
 * This worker's partition leases on a shared state store: renewed every third of `leaseMs`, a fair share
 * taken and any surplus given up, and every pump switched to the partitions held whenever they change.
 * A watchdog stops all work before the leases could run out when renewals do not come back in time.
 */
export class PartitionLeases {
  private leaseTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();
  /** Local time before which the leases are surely still ours (measured from before the renewal). */
  private leasesValidUntil = 0;
  private stopped = false;

  constructor(
    private readonly settings: LeaseSettings,
    /** Switches the pumps to these partitions. */
    private readonly apply: (partitions: Set<number>) => Promise<void>,
    private readonly held: () => ReadonlySet<number>,
  ) {}

  /** Joins the group and takes the first share. */
  async start(): Promise<void> {
    const { state, group, partitionCount, leaseMs } = this.settings;
    await state.preparePartitions(group, partitionCount);
    await this.runRound();
    this.leaseTimer = setInterval(() => void this.runRound(), Math.max(10, Math.floor(leaseMs / 3)));
    this.leaseTimer.unref?.();
    this.watchdogTimer = setInterval(() => this.checkDeadline(), Math.max(10, Math.floor(leaseMs / 12)));
    this.watchdogTimer.unref?.();
  }

  /** Stops renewing; a round stuck on an unreachable database must not keep the runner from stopping. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [this.leaseTimer, this.watchdogTimer]) if (timer) clearInterval(timer);
    await within(this.round, this.settings.leaseMs);
  }

  /** Gives this worker's leases up, so that the others take its partitions at once. */
  async leave(): Promise<void> {
    const { state, group, workerId, leaseMs } = this.settings;
    await within(state.leaveGroup(group, workerId).catch(() => undefined), leaseMs);
  }

  /** One lease round at a time: renew, take a fair share, give up any surplus, restart on change. */
  runRound(): Promise<void> {
    this.round = this.round.then(() => this.roundNow()).catch((error: unknown) => {
      this.settings.logger.warn({ workerId: this.settings.workerId, error: errorInfo(error) }, 'lease round failed');
    });
    return this.round;
  }

  private async roundNow(): Promise<void> {
    if (this.stopped) return;
    const roundStarted = Date.now();
    const single = this.settings.state.singleWriter;
    const fairShare = (live: number): number => (single ? this.settings.partitionCount : Math.ceil(this.settings.partitionCount / Math.max(1, live)));
    let grant;
    try {
      grant = await this.settings.state.claimLeases(this.settings.group, this.settings.workerId, this.settings.leaseMs, fairShare);
    } catch (error) {
      // Without a renewal the leases run out; stop handling before they do, so that two workers
      // never handle one partition at once.
      if (Date.now() > this.leasesValidUntil - this.settings.leaseMs / 3) await this.apply(new Set());
      throw error;
    }
    if (this.stopped) return;
    this.leasesValidUntil = roundStarted + this.settings.leaseMs;
    const held = [...grant.held].sort((a, b) => a - b);
    const share = fairShare(grant.liveWorkers);
    const surplus = held.length > share ? held.slice(share) : [];
    const keep = new Set(held.slice(0, held.length - surplus.length));
    if (!sameSet(keep, this.held())) await this.apply(keep);
    if (surplus.length > 0) await this.settings.state.releaseLeases(this.settings.group, this.settings.workerId, surplus);
  }

  /**
   * Stops handling before the leases could expire when renewals do not come back in time (a hung or
   * unreachable database): another worker may take the partitions over then.
   */
  private checkDeadline(): void {
    if (this.stopped || this.held().size === 0) return;
    if (Date.now() > this.leasesValidUntil - this.settings.leaseMs / 6) {
      this.settings.logger.warn({ workerId: this.settings.workerId }, 'leases not renewed in time: stopping work on all partitions');
      void this.apply(new Set());
    }
  }
}

export function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  if (a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}

