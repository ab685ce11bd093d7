import type { Command } from 'commander';
import { adminRequest, apiTarget } from '../admin-client';
import { emit } from '../cli-context';
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
    .action(async (options: { api?: string; token?: string } & { reactor?: string; status: string; limit?: string }) => {
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
    .action(async (reactor: string, key: string, options: { api?: string; token?: string }) => {
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
