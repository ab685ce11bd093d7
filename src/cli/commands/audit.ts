import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openArchive, type Archive } from '../../event-store/archive';
import { finished } from 'node:stream/promises';
import { checkStreamProof, exportStreamProof } from '../../event-store/audit-proof';
import type { EventStore, RecordedEvent } from '../../event-store/event-store';
import { StoreNotChainedError, verifyStore, type ChainBreak, type ChainHead, type VerifyReport } from '../../event-store/verify-store';
import { emit, openStore, type CliContext } from '../cli-context';
import { CliExit, EXIT_FAILURE_FOUND, EXIT_USAGE } from '../exit-codes';
import { startVerifyProgress } from '../verify-progress';
import type { CommandGroup } from './index';

const STORE_HELP = 'event store connection string (default: EVENTFOLD_STORE)';

function headOption(text: string): ChainHead {
  const match = /^(\d{1,19}):([0-9a-f]{64})$/.exec(text);
  if (!match) throw new CommanderArgumentError('must be <batch>:<hash>, as `verify` prints it');
  return { batch: BigInt(match[1]!), hash: match[2]! };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

async function withStore<T>(context: CliContext, url: string | undefined, work: (store: EventStore) => Promise<T>): Promise<T> {
  const store = await openStore(context, url);
  try {
    return await work(store);
  } catch (error) {
    if (error instanceof StoreNotChainedError) throw new CliExit(EXIT_USAGE, error.message);
    throw error;
  } finally {
    await store.close();
  }
}

function breakJson(found: ChainBreak): Record<string, unknown> {
  return {
    kind: found.kind,
    ...(found.streamName !== undefined ? { streamName: found.streamName } : {}),
    ...(found.revision !== undefined ? { revision: found.revision.toString() } : {}),
    ...(found.batch !== undefined ? { batch: found.batch.toString() } : {}),
    message: found.message,
  };
}

function reportJson(report: VerifyReport): Record<string, unknown> {
  return {
    ok: report.ok,
    eventsChecked: report.eventsChecked,
    batchesChecked: report.batchesChecked,
    streamsChecked: report.streamsChecked,
    eventsArchived: report.eventsArchived,
    archivedChecked: report.archivedChecked,
    head: report.head ? { batch: report.head.batch.toString(), hash: report.head.hash } : null,
    breakCount: report.breakCount,
    breaks: report.breaks.map(breakJson),
    ...(report.unchainedEvents !== undefined ? { unchainedEvents: report.unchainedEvents } : {}),
    ...(report.notProven !== undefined ? { notProven: report.notProven } : {}),
  };
}

function reportText(report: VerifyReport): string {
  const archived =
    report.eventsArchived > 0 ? ` (${report.eventsArchived} of the events archived, ${report.archivedChecked} of them checked against their archives)` : '';
  const counts = `${report.eventsChecked} events, ${report.batchesChecked} batches, ${report.streamsChecked} streams${archived}`;
  const head = report.head ? `\nhead: ${report.head.batch}:${report.head.hash} (keep it: \`verify --expect-head\` finds a log cut back to before it)` : '';
  const limits = report.notProven?.length ? `\nnot proven on this store:\n${report.notProven.map((limit) => `  - ${limit}`).join('\n')}` : '';
  if (report.ok) return `intact: ${counts} checked${head}${limits}`;
  const listed = report.breaks.map((found) => `  ${found.message}`).join('\n');
  const more = report.breakCount > report.breaks.length ? `\n  … and ${report.breakCount - report.breaks.length} more` : '';
  return `BROKEN: ${report.breakCount} break(s) in ${counts}\n${listed}${more}${head}${limits}`;
}

/**
 * An archive file that is there but does not open (not gzip, not NDJSON): it was changed. It is given
 * to `verifyStore` under its name with the SHA-256 of its bytes and no content, so the report names it
 * as altered (exit 1) for the streams recorded in it.
 */
function unreadableArchive(name: string, bytes: Buffer, reason: string): Archive {
  const empty = (): AsyncIterable<RecordedEvent> => ({
    [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true as const, value: undefined }) }),
  });
  return {
    name,
    streams: [],
    sha256: createHash('sha256').update(bytes).digest('hex'),
    ok: false,
    breaks: [{ kind: 'archive-altered', streamName: '', message: `archive ${name} does not open: ${reason}` }],
    storedEvent: () => undefined,
    readEvent: () => undefined,
    lastRevision: () => undefined,
    readStream: empty,
    readAll: empty,
    readCorrelation: empty,
  };
}

/**
 * Every archive (`*.ndjson.gz`) in a folder, opened under its file name. A file that cannot be read
 * ends the run (exit 2); one that reads but does not open is passed on as altered.
 */
async function readArchives(folder: string): Promise<Archive[]> {
  let names: string[];
  try {
    names = (await readdir(folder)).filter((name) => name.endsWith('.ndjson.gz')).sort();
  } catch (error) {
    throw new CliExit(EXIT_USAGE, `cannot read the archives folder ${folder}: ${(error as Error).message}`);
  }
  const archives: Archive[] = [];
  for (const name of names) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(folder, name));
    } catch (error) {
      throw new CliExit(EXIT_USAGE, `cannot read the archive ${join(folder, name)}: ${(error as Error).message}`);
    }
    try {
      archives.push(openArchive(bytes, name));
    } catch (error) {
      archives.push(unreadableArchive(name, bytes, (error as Error).message));
    }
  }
  return archives;
}

/** `verify` (the whole hash chain) and `audit export` / `audit check` (one stream's proof, checked offline). */
export const auditCommands: CommandGroup = (program, context) => {
  program
    .command('verify')
    .description("check the store's hash chain: exit 0 when intact, 1 naming each stream and revision where it breaks")
    .option('--store <url>', STORE_HELP)
    .option('--stream <name>', "check only this stream's chain (repeatable)", collect)
    .option('--expect-head <batch:hash>', 'a head printed by an earlier verify: fail if the log no longer contains it', headOption)
    .option('--archives <dir>', "the folder of archives (`eventfold archive --out`): check every archived event's content against the store")
    .action(async (options: { store?: string; stream?: string[]; expectHead?: ChainHead; archives?: string }) => {
      const archives = options.archives === undefined ? undefined : await readArchives(options.archives);
      const report = await withStore(context, options.store, async (store) => {
        const progress = startVerifyProgress(context);
        try {
          return await verifyStore(store, {
            ...(options.stream ? { streams: options.stream } : {}),
            ...(options.expectHead ? { expectHead: options.expectHead } : {}),
            ...(archives ? { archives } : {}),
            onProgress: ({ eventsChecked, eventsTotal }) => progress.update(eventsChecked, eventsTotal),
          });
        } finally {
          progress.stop();
        }
      });
      emit(context, reportJson(report), () => reportText(report));
      if (!report.ok) throw new CliExit(EXIT_FAILURE_FOUND, '');
    });

  const audit = program.command('audit').description("export a stream with its proof, and check a proof without the database");
  audit
    .command('export')
    .description('write a stream with its proof as NDJSON (to --out, else standard output)')
    .argument('<stream>', 'the stream to export')
    .option('--store <url>', STORE_HELP)
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (streamName: string, options: { store?: string; out?: string }) => {
      await withStore(context, options.store, async (store) => {
        const out = options.out ? createWriteStream(options.out, { flags: 'wx' }) : context.stdout;
        let events = 0;
        try {
          for await (const line of exportStreamProof(store, streamName)) {
            if (line.kind === 'event') events++;
            if (!out.write(`${JSON.stringify(line)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
          }
        } finally {
          if (out !== context.stdout) {
            out.end();
            await finished(out);
          }
        }
        if (options.out) emit(context, { streamName, events, file: options.out }, () => `exported ${events} events of "${streamName}" to ${options.out}`);
      });
    });
  audit
    .command('check')
    .description('check a proof file made by `audit export`, with no database: exit 0 when it holds, 1 when not')
    .argument('<file>', 'the proof file (NDJSON)')
    .action(async (file: string) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new CliExit(EXIT_USAGE, `cannot read ${file}: ${(error as Error).message}`);
      }
      let check: ReturnType<typeof checkStreamProof>;
      try {
        check = checkStreamProof(text);
      } catch (error) {
        throw new CliExit(EXIT_FAILURE_FOUND, `${file}: ${(error as Error).message}`);
      }
      const head = check.head ? `${check.head.batch}:${check.head.hash}` : 'none';
      emit(
        context,
        { ok: check.ok, streamName: check.streamName ?? null, eventsChecked: check.eventsChecked, batchesChecked: check.batchesChecked, head, breaks: check.breaks.map(breakJson) },
        () =>
          check.ok
            ? `proof holds: stream "${check.streamName}", ${check.eventsChecked} events in ${check.batchesChecked} batches; store head at export ${head}`
            : `PROOF FAILS:\n${check.breaks.map((found) => `  ${found.message}`).join('\n')}`,
      );
      if (!check.ok) throw new CliExit(EXIT_FAILURE_FOUND, '');
    });
};
