import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { archiveStreamsToFile, type ArchiveSelection } from '../../event-store/archive';
import { StoreNotChainedError } from '../../event-store/verify-store';
import { emit, openStore, type CliContext } from '../cli-context';
import { CliExit, EXIT_USAGE } from '../exit-codes';
import type { CommandGroup } from './index';

const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90d`, `12h`, `30m`, `45s`, `2w`: a whole number and a unit. */
export function parseDuration(text: string): number {
  const match = /^([1-9]\d{0,8})([smhdw])$/.exec(text);
  if (!match) throw new CommanderArgumentError('must be a whole number and a unit (s, m, h, d or w), e.g. 90d');
  return Number(match[1]) * UNITS[match[2]!]!;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function selectionOf(options: { stream?: string[]; closed?: boolean; olderThan?: number }, now: number): ArchiveSelection {
  const given = [options.stream !== undefined, options.closed === true, options.olderThan !== undefined].filter(Boolean).length;
  if (given !== 1) throw new CliExit(EXIT_USAGE, 'give exactly one of --stream <name>..., --closed and --older-than <duration>');
  if (options.stream) return { streams: options.stream };
  if (options.closed) return { closed: true };
  return { olderThan: new Date(now - options.olderThan!) };
}

async function archive(context: CliContext, options: { store?: string; out: string; name?: string; stream?: string[]; closed?: boolean; olderThan?: number }): Promise<void> {
  const selection = selectionOf(options, Date.now());
  const name = options.name ?? `archive-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.ndjson.gz`;
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) throw new CliExit(EXIT_USAGE, `--name must be a plain file name, got ${JSON.stringify(name)}`);
  await mkdir(options.out, { recursive: true });
  const file = join(options.out, name);
  const store = await openStore(context, options.store);
  try {
    const result = await archiveStreamsToFile(store, selection, file);
    emit(context, { file, streams: result.streams, events: result.events, bytes: result.bytes, sha256: result.sha256 }, () =>
      [
        `archived ${result.streams.length} stream(s), ${result.events} events, to ${file} (${result.bytes} bytes, sha256 ${result.sha256})`,
        ...result.streams.map((stream) => `  ${stream}`),
      ].join('\n'),
    );
  } catch (error) {
    if (error instanceof StoreNotChainedError) throw new CliExit(EXIT_USAGE, error.message);
    throw error;
  } finally {
    await store.close();
  }
}

/** `archive`: move streams to a compressed NDJSON archive with their proofs; their payloads leave the store. */
export const archiveCommands: CommandGroup = (program, context) => {
  program
    .command('archive')
    .description(
      'move streams to cold storage: write them with their proofs to <out>/<name> (gzip NDJSON), sync and check it, then remove ' +
        "their events' data and metadata from the store, recorded in the lifecycle log (verify --archives <dir> checks them later)",
    )
    .option('--store <url>', 'event store connection string (default: EVENTFOLD_STORE)')
    .requiredOption('--out <dir>', 'the folder of archives (created if missing)')
    .option('--name <file>', 'the archive file name (default: archive-<UTC time>.ndjson.gz); an existing file is never overwritten')
    .option('--stream <name>', 'archive this stream (repeatable)', collect)
    .option('--closed', 'archive every closed stream (soft deleted and not written since)')
    .option('--older-than <duration>', 'archive every stream whose last event is older than this, e.g. 90d, 12h', parseDuration)
    .action((options: { store?: string; out: string; name?: string; stream?: string[]; closed?: boolean; olderThan?: number }) => archive(context, options));
};
