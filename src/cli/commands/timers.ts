import type { Command } from 'commander';
import { emit, type CliContext } from '../cli-context';
import { CliExit, EXIT_FAILURE_FOUND, EXIT_USAGE } from '../exit-codes';
import type { CommandGroup } from './index';

interface TimerRow {
  reactor: string;
  key: string;
  status: string;
  dueAt: string;
  streamName: string;
  commandType: string;
  attempts: number;
  error: string | null;
  settledAt: string | null;
}

const TIMER_FIELDS = 'reactor key status dueAt streamName commandType attempts error settledAt';
const STATUSES = ['pending', 'fired', 'cancelled', 'parked'];
/** Timers per request: within the API's default query cost limit. */
const PAGE = 50;
const MAX_LIMIT = 10_000;

type ApiOptions = { api?: string; token?: string };

/** Where the running app's GraphQL API is, and the admin's token. */
interface ApiTarget {
  readonly url: string;
  readonly token: string | undefined;
}

// The runtime commands' shared admin client (src/cli/admin-client.ts, written alongside) does the same;
// this file keeps its own small copy until both are merged.
function apiTarget(context: CliContext, options: ApiOptions): ApiTarget {
  const url = options.api ?? context.env.EVENTFOLD_API?.trim();
  if (!url) throw new CliExit(EXIT_USAGE, "no API given: pass --api <url> (the app's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql) or set EVENTFOLD_API");
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new CliExit(EXIT_USAGE, `--api must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  return { url, token: options.token ?? (context.env.EVENTFOLD_TOKEN?.trim() || undefined) };
}

/** One GraphQL operation against the admin API; an unreachable API or a refusal ends the run with code 2. */
async function adminRequest<Data>(target: ApiTarget, query: string, variables: Record<string, unknown>): Promise<Data> {
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CliExit(EXIT_USAGE, `cannot reach the API at ${target.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  let body: { data?: Data | null; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new CliExit(EXIT_USAGE, `the API at ${target.url} answered HTTP ${response.status} without a GraphQL body`);
  }
  if (body.errors?.length) {
    throw new CliExit(EXIT_USAGE, `the API refused: ${body.errors.map((error) => `${error.extensions?.code ?? 'ERROR'}: ${error.message}`).join('; ')}`);
  }
  if (!body.data) throw new CliExit(EXIT_USAGE, `the API at ${target.url} answered HTTP ${response.status} with no data`);
  return body.data;
}

function withApi(command: Command): Command {
  return command
    .option('--api <url>', "the app's GraphQL endpoint (default: EVENTFOLD_API)")
    .option('--token <jwt>', 'a token with the admin role (default: EVENTFOLD_TOKEN; none when the app runs without auth)');
}

function limitOf(value: string | undefined): number {
  if (value === undefined) return 100;
  const limit = Number(value);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new CliExit(EXIT_USAGE, `--limit must be a whole number from 1 to ${MAX_LIMIT}, got ${JSON.stringify(value)}`);
  return limit;
}

function line(timer: TimerRow): string {
  const error = timer.error ? `  (${timer.error})` : '';
  return `${timer.dueAt}  ${timer.status.padEnd(9)}  ${timer.reactor}  ${timer.key}  → ${timer.commandType} on ${timer.streamName}${error}`;
}

/**
 * `timers list|cancel`: a running app's durable timers, through its admin API.
 *
 * @example
 * eventfold timers list --api http://127.0.0.1:4000/graphql --status pending
 * eventfold timers cancel approval-timeout 'order-7:approval' --api http://127.0.0.1:4000/graphql --token "$JWT"
 */
export const timersCommands: CommandGroup = (program, context) => {
  const timers = program.command('timers').description("a running app's timers (through its admin API)");
  withApi(timers.command('list'))
    .description('timers by due time (default: pending ones), a page of 50 at a time up to --limit')
    .option('--reactor <name>', "only this reactor's timers")
    .option('--status <status>', `one of ${STATUSES.join(', ')}`, 'pending')
    .option('--limit <n>', `most timers listed (default 100, at most ${MAX_LIMIT})`)
    .action(async (options: ApiOptions & { reactor?: string; status: string; limit?: string }) => {
      if (!STATUSES.includes(options.status)) throw new CliExit(EXIT_USAGE, `--status must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(options.status)}`);
      const limit = limitOf(options.limit);
      const target = apiTarget(context, options);
      const rows: TimerRow[] = [];
      let after: string | null = null;
      do {
        const { timers: page }: { timers: { items: TimerRow[]; next: string | null } } = await adminRequest(
          target,
          `query Timers($reactor: String, $status: String, $first: Int, $after: String) {
            timers(reactor: $reactor, status: $status, first: $first, after: $after) { items { ${TIMER_FIELDS} } next }
          }`,
          { reactor: options.reactor ?? null, status: options.status, first: Math.min(PAGE, limit - rows.length), after },
        );
        rows.push(...page.items);
        after = page.next;
      } while (after !== null && rows.length < limit && !context.signal.aborted);
      emit(context, rows, () => (rows.length === 0 ? `no ${options.status} timers` : rows.map(line).join('\n')));
    });
  withApi(timers.command('cancel'))
    .description('cancels a pending or parked timer; exit 1 when there was none to cancel')
    .argument('<reactor>', 'the reactor (or process) that set it')
    .argument('<key>', "the timer's key (see `timers list`)")
    .action(async (reactor: string, key: string, options: ApiOptions) => {
      const target = apiTarget(context, options);
      const { cancelTimer } = await adminRequest<{ cancelTimer: boolean }>(
        target,
        'mutation Cancel($reactor: String!, $key: String!) { cancelTimer(reactor: $reactor, key: $key) }',
        { reactor, key },
      );
      emit(context, { reactor, key, cancelled: cancelTimer }, () => (cancelTimer ? `cancelled ${reactor} ${key}` : `no pending or parked timer ${reactor} ${key}`));
      if (!cancelTimer) throw new CliExit(EXIT_FAILURE_FOUND, '');
    });
};
