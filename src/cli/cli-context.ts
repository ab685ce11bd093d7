import type { Writable } from 'node:stream';
import { connectEventStore, resolveConnectionString } from '../event-store/connect';
import type { EventStore } from '../event-store/event-store';
import { CliExit, EXIT_USAGE } from './exit-codes';

/** What every command gets: where to write, whether to write JSON, and how to open the store. */
export interface CliContext {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Set when the user asked for machine output (`--json`). */
  json: boolean;
  /** Cancelled on SIGINT/SIGTERM; long commands (tail, copy) stop at their next step. */
  readonly signal: AbortSignal;
}

/** Writes one result: JSON (one line) under `--json`, else the human text. */
export function emit(context: CliContext, value: unknown, human: () => string): void {
  context.stdout.write(context.json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
}

/**
 * Opens the store named by `--store`, else `EVENTFOLD_STORE`. A bad string or an unreachable server ends
 * the run with exit code 2.
 */
export async function openStore(context: CliContext, url: string | undefined): Promise<EventStore> {
  const connectionString = url ?? context.env.EVENTFOLD_STORE?.trim();
  if (!connectionString) throw new CliExit(EXIT_USAGE, 'no store given: pass --store <url> or set EVENTFOLD_STORE');
  try {
    return await connectEventStore(resolveConnectionString(connectionString));
  } catch (error) {
    throw new CliExit(EXIT_USAGE, `cannot open store: ${(error as Error).message}`);
  }
}
