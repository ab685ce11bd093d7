import pg from 'pg';

/** Options of {@link PostgresListener.start}. */
export interface PostgresListenerOptions {
  /** Where to connect: a connection of its own, since LISTEN holds it for as long as it listens. */
  readonly connection: pg.ClientConfig;
  /** The channel to LISTEN on (a plain identifier, written into the statement as is). */
  readonly channel: string;
  /** Called with each notification's payload. */
  readonly onNotification: (payload: string | undefined) => void;
  /**
   * Notifications sent by these server processes are dropped: a caller that already signalled its own
   * commits in memory passes the process ids of its own connections, so that a commit wakes its readers
   * once, not twice. Asked per notification. Default: none.
   */
  readonly ignoreSenders?: ReadonlySet<number>;
  /**
   * Called each time a lost connection has been replaced (whether or not the new one listens yet):
   * notifications sent in between were missed, so a caller that must not miss one looks again.
   */
  readonly onReconnect?: () => void;
  /** How long to wait before connecting again after the connection dropped or failed to open. */
  readonly retryDelayMs: number;
  /**
   * What a first connection that fails does: `'throw'` rejects `start` (and stops); `'retry'` resolves
   * and keeps trying in the background, for callers that poll until it is back.
   */
  readonly firstFailure: 'throw' | 'retry';
}

/**
 * LISTEN on one channel through a dedicated connection that is opened again whenever it drops
 * (server restart, `pg_terminate_backend`, network), until `stop()`.
 *
 * @example
 * const listener = await PostgresListener.start({
 *   connection: { connectionString }, channel: 'eventfold_events', retryDelayMs: 1_000, firstFailure: 'retry',
 *   onNotification: () => wakeSubscribers(), onReconnect: () => wakeSubscribers(),
 * });
 * await listener.stop();
 */
export class PostgresListener {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(private readonly options: PostgresListenerOptions) {}

  /** Connects and listens; see {@link PostgresListenerOptions.firstFailure} for a first failure. */
  static async start(options: PostgresListenerOptions): Promise<PostgresListener> {
    const listener = new PostgresListener(options);
    try {
      await listener.listen();
    } catch (error) {
      if (options.firstFailure === 'throw') {
        await listener.stop();
        throw error;
      }
      listener.scheduleRetry();
    }
    return listener;
  }

  /** Stops listening and closes the connection; no retry runs after it. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.options.connection);
    const lost = (): void => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      this.scheduleRetry(this.options.onReconnect);
    };
    client.on('notification', (message) => {
      if (message.channel !== this.options.channel) return;
      if (this.options.ignoreSenders?.has(message.processId)) return;
      this.options.onNotification(message.payload);
    });
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (error) {
      client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    // stop() ran while this connection was opening: it saw no client to close.
    if (this.stopped) await this.stop();
  }

  private scheduleRetry(afterwards?: () => void): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      void this.listen().then(
        () => afterwards?.(),
        () => {
          afterwards?.();
          this.scheduleRetry(afterwards);
        },
      );
    }, this.options.retryDelayMs);
  }
}
