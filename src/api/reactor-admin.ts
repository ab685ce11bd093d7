/**
 * What the admin API needs from the reactors runtime (`src/handlers`): each reactor's progress, its
 * parked events, and a way to redrive them. The runtime implements it (or an adapter does), so the
 * API depends on this narrow contract only.
 *
 * @example
 * const api = createApi({ ..., reactors: reactorAdmin(runtime) });
 */
export interface ReactorAdmin {
  status(): Promise<readonly ReactorStatusInfo[]>;
  /** Parked events, oldest first, a page at a time. */
  listParked(request: ParkedEventsRequest): Promise<ParkedEventsPage>;
  /**
   * Puts parked events back into delivery: the given ids, or all of the reactor's when `eventIds` is
   * absent. Resolves with how many were redriven.
   */
  redrive(request: ReactorRedriveRequest): Promise<number>;
  /** Timers by due time, a page at a time (a runtime without timers leaves it out). */
  listTimers?(request: TimersRequest): Promise<TimersPage>;
  /** Cancels a pending or parked timer; false when there is none to cancel. */
  cancelTimer?(reactor: string, key: string): Promise<boolean>;
  /** The invocation log, newest first (optional: the console shows it when the runtime has one). */
  invocations?(request: InvocationsRequest): Promise<readonly InvocationInfo[]>;
}

/**
 * Which timers to list: one reactor's (or every reactor's), in one status, a page at a time.
 *
 * @example
 * const request: TimersRequest = { reactor: 'approval-timeout', status: 'pending', limit: 50 };
 */
export interface TimersRequest {
  readonly reactor?: string;
  readonly status?: 'pending' | 'fired' | 'cancelled' | 'parked';
  readonly limit: number;
  readonly after?: string;
}

/**
 * One page of timers, by due time.
 *
 * @example
 * for (const timer of page.items) console.log(timer.reactor, timer.key, timer.dueAt);
 */
export interface TimersPage {
  readonly items: readonly TimerInfo[];
  readonly next?: string;
}

/** A timer as admins see it: whose, when, what it sends, and where it stands. */
export interface TimerInfo {
  readonly reactor: string;
  readonly key: string;
  readonly status: string;
  readonly dueAt: Date;
  readonly streamName: string;
  readonly command: { readonly type: string };
  readonly attempts: number;
  readonly error?: { readonly message: string };
  readonly settledAt?: Date;
}

/**
 * Which attempts of the invocation log to list: one reactor's (or every reactor's), newest first.
 *
 * @example
 * const request: InvocationsRequest = { reactor: 'payment', limit: 50 };
 */
export interface InvocationsRequest {
  readonly reactor?: string;
  readonly limit: number;
}

/**
 * One attempt to handle one event, as the invocation log keeps it.
 *
 * @example
 * for (const attempt of await admin.invocations!({ limit: 20 })) console.log(attempt.outcome, attempt.durationMs);
 */
export interface InvocationInfo {
  readonly reactor: string;
  readonly eventId: string;
  readonly streamName: string;
  readonly position: string;
  readonly attempt: number;
  /** `succeeded`, `retrying` (another attempt follows) or `parked`. */
  readonly outcome: string;
  readonly durationMs: number;
  readonly error?: { readonly message: string };
  readonly at: Date;
}

/**
 * One reactor's progress, as admins see it.
 *
 * @example
 * const stuck = (await admin.status()).filter((reactor: ReactorStatusInfo) => reactor.parkedCount > 0);
 */
export interface ReactorStatusInfo {
  readonly name: string;
  /** e.g. `running`, `stopped`, `failed`. */
  readonly state: string;
  /** Its checkpoint (a serialised position), when it has one. */
  readonly position: string | undefined;
  readonly lagEvents: number | undefined;
  readonly parkedCount: number;
  readonly lastError: string | undefined;
}

/**
 * Which parked events to list: one reactor's (or every reactor's), a page at a time.
 *
 * @example
 * const request: ParkedEventsRequest = { reactor: 'payment', limit: 50 };
 */
export interface ParkedEventsRequest {
  readonly reactor?: string;
  readonly limit: number;
  /** The `next` of the previous page. */
  readonly after?: string;
}

/**
 * One event a reactor gave up on, with why.
 *
 * @example
 * for (const parked of page.items) console.log(`${parked.reactor} parked ${parked.eventType}: ${parked.reason}`);
 */
export interface ParkedEventInfo {
  readonly reactor: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly streamName: string;
  readonly position: string;
  readonly attempts: number;
  readonly reason: string;
  readonly parkedAt: Date;
}

/**
 * One page of parked events, oldest first.
 *
 * @example
 * let page = await admin.listParked({ limit: 100 });
 * while (page.next) page = await admin.listParked({ limit: 100, after: page.next });
 */
export interface ParkedEventsPage {
  readonly items: readonly ParkedEventInfo[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

/**
 * Which parked events of one reactor to put back into delivery: the given ids, one stream's, or all of them.
 *
 * @example
 * await admin.redrive({ reactor: 'payment', eventIds: [parked.eventId] });
 */
export interface ReactorRedriveRequest {
  readonly reactor: string;
  readonly eventIds?: readonly string[];
  /** Only this stream's parked events. */
  readonly streamName?: string;
}
