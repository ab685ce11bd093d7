import { resolve } from 'node:path';
import { InvalidConnectionStringError } from '../../event-store/errors';
import { emit, openStore, type CliContext } from '../cli-context';
import { storeKey, storeSource, storeTarget, type CopySource, type CopyTarget } from '../copy/copy-endpoint';
import { copyEvents, verifyCopy } from '../copy/copy-events';
import { ndjsonSource, ndjsonTarget } from '../copy/ndjson-file';
import { CliExit, EXIT_FAILURE_FOUND, EXIT_USAGE } from '../exit-codes';
import { startProgress } from '../progress';
import { integerOption } from './store';
import type { CommandGroup } from './index';

const NDJSON = 'ndjson:';

/** The key of an endpoint, without opening it: the same store named twice is refused before anything is read. */
function endpointKey(url: string): string {
  if (url.startsWith(NDJSON)) return `${NDJSON}${resolve(url.slice(NDJSON.length))}`;
  try {
    return storeKey(url);
  } catch (error) {
    if (error instanceof InvalidConnectionStringError) throw new CliExit(EXIT_USAGE, error.message);
    throw error;
  }
}

function ndjsonPath(url: string): string {
  const path = url.slice(NDJSON.length);
  if (path === '') throw new CliExit(EXIT_USAGE, 'ndjson: needs a file path, e.g. ndjson:./events.ndjson');
  return resolve(path);
}

async function openSource(context: CliContext, url: string): Promise<CopySource> {
  if (url.startsWith(NDJSON)) return ndjsonSource(ndjsonPath(url));
  return storeSource(await openStore(context, url), endpointKey(url));
}

async function openTarget(context: CliContext, url: string): Promise<CopyTarget> {
  if (url.startsWith(NDJSON)) return ndjsonTarget(ndjsonPath(url));
  const store = await openStore(context, url);
  try {
    return storeTarget(store, endpointKey(url));
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * `copy --from <url> --to <url>`: every event of one store (or export file) into another, keeping ids,
 * revisions, metadata, recorded times and the order of `$all`; resumable; verified at the end.
 */
export const copyCommands: CommandGroup = (program, context) => {
  program
    .command('copy')
    .description(
      'copy every event from one store to another, keeping ids, revisions, metadata, recorded times and $all order; ' +
        'resumable (run it again after an interruption); verifies the result (exit 1 on a difference). ' +
        'Either side may be ndjson:<file> (export / import)',
    )
    .requiredOption('--from <url>', 'source: a store connection string or ndjson:<file>')
    .requiredOption('--to <url>', 'target: a SQLite or PostgreSQL connection string, or ndjson:<file>')
    .option('--batch-size <n>', 'events per transaction', integerOption(1, 10_000), 500)
    .option('--no-verify', 'skip comparing the target with the source at the end')
    .action(async (options: { from: string; to: string; batchSize: number; verify: boolean }) => {
      if (endpointKey(options.from) === endpointKey(options.to)) throw new CliExit(EXIT_USAGE, '--from and --to name the same place');
      const source = await openSource(context, options.from);
      let target: CopyTarget | undefined;
      try {
        target = await openTarget(context, options.to);
        const progress = startProgress(context, 'copy', 'events');
        let report;
        try {
          report = await copyEvents(source, target, {
            batchSize: options.batchSize,
            signal: context.signal,
            onProgress: (done, total) => progress.update(done, total),
          });
        } finally {
          progress.stop();
        }
        if (report.interrupted) {
          emit(context, { ...report, verified: false }, () => `interrupted after ${report.count} events; run the same command again to resume`);
          throw new CliExit(EXIT_USAGE, '');
        }
        const mismatch = options.verify ? await verifyCopy(source, target, report.count, context.signal) : undefined;
        if (mismatch?.interrupted) throw new CliExit(EXIT_USAGE, `copied ${report.count} events; the verification was interrupted at event #${mismatch.index}`);
        const result = { ...report, verified: options.verify && !mismatch, ...(mismatch ? { mismatch } : {}) };
        emit(context, result, () =>
          [
            report.resumedFrom > 0 ? `resumed after ${report.resumedFrom} events copied earlier` : undefined,
            `copied ${report.copied} events (${report.count} in all${report.skipped > 0 ? `, ${report.skipped} already there` : ''})`,
            mismatch ? undefined : options.verify ? 'verified: the target holds the same events in the same order' : 'not verified (--no-verify)',
          ]
            .filter((line) => line !== undefined)
            .join('\n'),
        );
        if (mismatch) throw new CliExit(EXIT_FAILURE_FOUND, `verification failed at event #${mismatch.index}: ${mismatch.reason}`);
      } finally {
        await target?.close();
        await source.close();
      }
    });
};
