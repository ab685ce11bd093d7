import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import type { EventStore } from '../../event-store/event-store';
import { storeAdminOf, type StoreAdmin } from '../../event-store/store-admin';
import { emit, openStore, type CliContext } from '../cli-context';
import { eventLine, eventText } from '../event-json';
import { CliExit, EXIT_FAILURE_FOUND, EXIT_USAGE } from '../exit-codes';
import type { CommandGroup } from './index';

const STORE_HELP = 'event store connection string (default: EVENTFOLD_STORE)';

/** Parses a whole number option in a range; commander turns the error into a usage error (exit 2). */
export function integerOption(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new CommanderArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

function revisionOption(text: string): bigint {
  if (!/^(0|[1-9]\d{0,18})$/.test(text)) throw new CommanderArgumentError('must be a revision (a whole number)');
  return BigInt(text);
}

/** Runs `work` on the store named by `--store` and closes it, whatever happens. */
async function withStore<T>(context: CliContext, url: string | undefined, work: (store: EventStore) => Promise<T>): Promise<T> {
  const store = await openStore(context, url);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function adminOf(store: EventStore): StoreAdmin {
  const admin = storeAdminOf(store);
  if (!admin) throw new CliExit(EXIT_USAGE, `a ${store.backend} store cannot list its streams or sizes here; use SQLite or PostgreSQL`);
  return admin;
}

/** Store commands, working on the store directly: migrate, streams list/read, tail, stats. */
export const storeCommands: CommandGroup = (program, context) => {
  program
    .command('migrate')
    .description("create or upgrade the store's schema (events, streams, reactor bookkeeping)")
    .option('--store <url>', STORE_HELP)
    .action(async (options: { store?: string }) => {
      await withStore(context, options.store, async (store) => {
        // Opening migrated the events; the reactor tables (checkpoints, parked events) live in the same database.
        const withReactorState = store as EventStore & { openReactorState?: () => Promise<{ close(): Promise<void> }> };
        const reactorState = await withReactorState.openReactorState?.();
        await reactorState?.close();
        emit(context, { migrated: true, backend: store.backend, reactorState: reactorState !== undefined }, () => `${store.backend} store is up to date`);
      });
    });

  const streams = program.command('streams').description('list and read streams');
  streams
    .command('list')
    .description('streams by name, with their revision')
    .option('--store <url>', STORE_HELP)
    .option('--prefix <prefix>', 'only streams whose name starts with this')
    .option('--after <name>', 'start after this stream name (paging)')
    .option('--limit <n>', 'at most this many (1 to 10000)', integerOption(1, 10_000), 100)
    .action(async (options: { store?: string; prefix?: string; after?: string; limit: number }) => {
      await withStore(context, options.store, async (store) => {
        const list = await adminOf(store).listStreams({
          limit: options.limit,
          ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
          ...(options.after !== undefined ? { after: options.after } : {}),
        });
        if (context.json) {
          for (const stream of list) emit(context, { streamName: stream.streamName, revision: stream.revision.toString() }, () => '');
        } else if (list.length === 0) {
          context.stdout.write('no streams\n');
        } else {
          for (const stream of list) context.stdout.write(`${stream.streamName}  ${stream.revision}\n`);
        }
      });
    });

  streams
    .command('read <stream>')
    .description("a stream's events in order (one JSON line each under --json); exit 1 when the stream has none")
    .option('--store <url>', STORE_HELP)
    .option('--from-revision <n>', 'start at this revision', revisionOption)
    .option('--limit <n>', 'at most this many events', integerOption(1, Number.MAX_SAFE_INTEGER))
    .action(async (streamName: string, options: { store?: string; fromRevision?: bigint; limit?: number }) => {
      await withStore(context, options.store, async (store) => {
        let found = 0;
        const read = store.readStream(streamName, {
          ...(options.fromRevision !== undefined ? { fromRevision: options.fromRevision } : {}),
          ...(options.limit !== undefined ? { maxCount: options.limit } : {}),
        });
        for await (const event of read) {
          found++;
          emit(context, eventLine(event), () => eventText(event));
        }
        if (found === 0) throw new CliExit(EXIT_FAILURE_FOUND, `stream "${streamName}" has no events${options.fromRevision !== undefined ? ` from revision ${options.fromRevision}` : ''}`);
      });
    });

  program
    .command('tail')
    .description('print new events as they are appended, until Ctrl-C')
    .option('--store <url>', STORE_HELP)
    .option('--prefix <prefix...>', 'only streams whose name starts with one of these')
    .option('--type <type...>', 'only events of these types')
    .action(async (options: { store?: string; prefix?: string[]; type?: string[] }) => {
      await withStore(context, options.store, async (store) => {
        const subscription = store.subscribeToAll({
          fromPosition: 'end',
          filter: { ...(options.prefix ? { streamPrefixes: options.prefix } : {}), ...(options.type ? { eventTypes: options.type } : {}) },
        });
        const stop = (): void => void subscription.close();
        context.signal.addEventListener('abort', stop, { once: true });
        try {
          if (context.signal.aborted) return;
          if (!context.json) context.stderr.write('following new events (Ctrl-C stops)\n');
          for await (const message of subscription) {
            if (message.kind === 'event') emit(context, eventLine(message.event), () => eventText(message.event));
            else if (context.json) context.stderr.write('caught up\n');
          }
        } finally {
          context.signal.removeEventListener('abort', stop);
          await subscription.close();
        }
      });
    });

  program
    .command('stats')
    .description('streams, events, size on disk, oldest and newest event')
    .option('--store <url>', STORE_HELP)
    .action(async (options: { store?: string }) => {
      await withStore(context, options.store, async (store) => {
        const stats = await adminOf(store).statistics();
        emit(
          context,
          {
            backend: store.backend,
            streams: stats.streams,
            events: stats.events,
            bytes: stats.bytes ?? null,
            oldest: stats.oldest?.toISOString() ?? null,
            newest: stats.newest?.toISOString() ?? null,
          },
          () =>
            [
              `backend  ${store.backend}`,
              `streams  ${stats.streams}`,
              `events   ${stats.events}`,
              `size     ${stats.bytes === undefined ? 'unknown' : formatBytes(stats.bytes)}`,
              `oldest   ${stats.oldest?.toISOString() ?? '-'}`,
              `newest   ${stats.newest?.toISOString() ?? '-'}`,
            ].join('\n'),
        );
      });
    });
};

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}
