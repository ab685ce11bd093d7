import { Option, type Command } from 'commander';
import { delay } from '../../internal/delay';
import { adminRequest, apiTarget } from '../admin-client';
import { emit, type CliContext } from '../cli-context';
import { CliExit, EXIT_FAILURE_FOUND, EXIT_USAGE } from '../exit-codes';
import { startProgress } from '../progress';
import { integerOption } from './store';
import type { CommandGroup } from './index';

interface ProjectionStatus {
  name: string;
  state: string;
  version: number;
  definedVersion: number;
  position: string | null;
  eventsHandled: number;
  lagEvents: number | null;
  lagMs: number;
  lastError: { message: string; code: string | null; eventId: string | null } | null;
  rebuild: { version: number; state: string; eventsDone: number | null; eventsTotal: number | null; eventsPerSecond: number } | null;
}

interface ReactorStatus {
  name: string;
  state: string;
  position: string | null;
  lagEvents: number | null;
  parkedCount: number;
  lastError: string | null;
}

interface ParkedEvent {
  reactor: string;
  eventId: string;
  eventType: string;
  streamName: string;
  position: string;
  attempts: number;
  reason: string;
  parkedAt: string;
}

const PROJECTION_FIELDS = `name state version definedVersion position eventsHandled lagEvents lagMs
  lastError { message code eventId } rebuild { version state eventsDone eventsTotal eventsPerSecond }`;
const REACTOR_FIELDS = 'name state position lagEvents parkedCount lastError';
const PARKED_FIELDS = 'reactor eventId eventType streamName position attempts reason parkedAt';
/** Parked events per request: within the API's default query cost limit. */
const PARKED_PAGE = 50;
/** How often `rebuild --wait` asks for progress. */
const POLL_MS = 500;

type ApiOptions = { api?: string; token?: string };

function withApi(command: Command): Command {
  return command
    .option('--api <url>', "the app's GraphQL endpoint (default: EVENTFOLD_API)")
    .option('--token <jwt>', 'a token with the admin role (default: EVENTFOLD_TOKEN; none when the app runs without auth)');
}

function lag(events: number | null, ms?: number): string {
  const parts = [events === null ? 'lag ? events' : `lag ${events} events`];
  if (ms !== undefined) parts.push(`${Math.round(ms)} ms`);
  return parts.join(', ');
}

/** Runtime commands: projections and reactors, through a running app's admin API. */
export const runtimeCommands: CommandGroup = (program, context) => {
  const projections = program.command('projections').description("a running app's projections (through its admin API)");
  withApi(projections.command('status'))
    .description('each projection: state, version, position, lag, last error, rebuild progress; exit 1 when one has failed')
    .action(async (options: ApiOptions) => {
      const target = apiTarget(context, options);
      const { projectionStatuses } = await adminRequest<{ projectionStatuses: ProjectionStatus[] }>(target, `{ projectionStatuses { ${PROJECTION_FIELDS} } }`);
      emit(context, projectionStatuses, () =>
        projectionStatuses.length === 0
          ? 'no projections'
          : projectionStatuses
              .map((status) => {
                const rebuild = status.rebuild ? `, rebuilding ${status.rebuild.eventsDone ?? '?'}/${status.rebuild.eventsTotal ?? '?'}` : '';
                const error = status.lastError ? `\n    last error: ${status.lastError.message}` : '';
                return `${status.name}  v${status.version}  ${status.state}  ${lag(status.lagEvents, status.lagMs)}, ${status.eventsHandled} handled${rebuild}${error}`;
              })
              .join('\n'),
      );
      if (projectionStatuses.some((status) => status.state === 'failed')) throw new CliExit(EXIT_FAILURE_FOUND, 'a projection has failed');
    });

  withApi(projections.command('rebuild <name>'))
    .description('rebuild a projection beside the live one; readers switch over when it has caught up')
    .option('--wait', 'wait until the rebuild has finished, showing its progress; exit 1 if it fails')
    .option('--timeout <seconds>', 'how long --wait waits at most', integerOption(1, 86_400), 3_600)
    .action(async (name: string, options: ApiOptions & { wait?: boolean; timeout: number }) => {
      const target = apiTarget(context, options);
      const started = await adminRequest<{ rebuildProjection: ProjectionStatus }>(
        target,
        `mutation ($name: String!) { rebuildProjection(name: $name) { ${PROJECTION_FIELDS} } }`,
        { name },
      );
      let status = started.rebuildProjection;
      if (options.wait) status = await waitForRebuild(context, target, name, status, options.timeout * 1_000);
      emit(context, status, () =>
        status.rebuild ? `rebuilding ${name}: ${status.rebuild.eventsDone ?? 0}/${status.rebuild.eventsTotal ?? '?'} events` : `${name} rebuilt: ${status.state}, ${lag(status.lagEvents)}`,
      );
    });

  const reactors = program.command('reactors').description("a running app's reactors (through its admin API)");
  withApi(reactors.command('status'))
    .description('each reactor: state, checkpoint, lag, parked events, last error; exit 1 when one has parked events or failed')
    .action(async (options: ApiOptions) => {
      const target = apiTarget(context, options);
      const { reactorStatuses } = await adminRequest<{ reactorStatuses: ReactorStatus[] }>(target, `{ reactorStatuses { ${REACTOR_FIELDS} } }`);
      emit(context, reactorStatuses, () =>
        reactorStatuses.length === 0
          ? 'no reactors'
          : reactorStatuses
              .map((status) => `${status.name}  ${status.state}  ${lag(status.lagEvents)}, ${status.parkedCount} parked${status.lastError ? `\n    last error: ${status.lastError}` : ''}`)
              .join('\n'),
      );
      if (reactorStatuses.some((status) => status.parkedCount > 0 || status.state === 'failed')) {
        throw new CliExit(EXIT_FAILURE_FOUND, 'a reactor has parked events or has failed');
      }
    });

  withApi(reactors.command('parked <reactor>'))
    .description("a reactor's parked events with their errors, oldest first")
    .option('--limit <n>', 'at most this many', integerOption(1, 100_000), 500)
    .action(async (reactor: string, options: ApiOptions & { limit: number }) => {
      const target = apiTarget(context, options);
      const items: ParkedEvent[] = [];
      let after: string | null = null;
      // Pages of 50 (the API's default cost limit allows about that many per request) until the limit or the last page.
      do {
        const first = Math.min(PARKED_PAGE, options.limit - items.length);
        const page: { parkedEvents: { items: ParkedEvent[]; next: string | null } } = await adminRequest(
          target,
          `query ($reactor: String, $first: Int, $after: String) { parkedEvents(reactor: $reactor, first: $first, after: $after) { items { ${PARKED_FIELDS} } next } }`,
          { reactor, first, after },
        );
        items.push(...page.parkedEvents.items);
        after = page.parkedEvents.next;
      } while (after !== null && items.length < options.limit);
      if (context.json) {
        for (const item of items) emit(context, item, () => '');
      } else {
        context.stdout.write(
          items.length === 0
            ? `${reactor} has no parked events\n`
            : `${items.map((item) => `${item.parkedAt}  ${item.eventId}  ${item.streamName}  ${item.eventType}  attempts ${item.attempts}\n    ${item.reason}`).join('\n')}\n`,
        );
      }
    });

  withApi(reactors.command('redrive <reactor>'))
    .description('send parked events through the reactor again: one event, one stream, or all')
    .addOption(new Option('--event <id>', 'one parked event, by id').conflicts(['stream', 'all']))
    .addOption(new Option('--stream <name>', "a stream's parked events").conflicts(['all']))
    .addOption(new Option('--all', 'every parked event of the reactor'))
    .action(async (reactor: string, options: ApiOptions & { event?: string; stream?: string; all?: boolean }) => {
      if (options.event === undefined && options.stream === undefined && !options.all) {
        throw new CliExit(EXIT_USAGE, 'say which parked events to redrive: --event <id>, --stream <name> or --all');
      }
      const target = apiTarget(context, options);
      const { redriveParked } = await adminRequest<{ redriveParked: number }>(
        target,
        'mutation ($reactor: String!, $eventIds: [String!], $streamName: String) { redriveParked(reactor: $reactor, eventIds: $eventIds, streamName: $streamName) }',
        { reactor, eventIds: options.event !== undefined ? [options.event] : null, streamName: options.stream ?? null },
      );
      emit(context, { reactor, redriven: redriveParked }, () => `${redriveParked} parked event${redriveParked === 1 ? '' : 's'} of ${reactor} sent again`);
      if (options.event !== undefined && redriveParked === 0) throw new CliExit(EXIT_FAILURE_FOUND, `event ${options.event} is not parked in ${reactor}`);
    });
};

/** Asks for the projection's status until no rebuild is pending, with a progress bar or lines. */
async function waitForRebuild(
  context: CliContext,
  target: ReturnType<typeof apiTarget>,
  name: string,
  first: ProjectionStatus,
  timeoutMs: number,
): Promise<ProjectionStatus> {
  const deadline = Date.now() + timeoutMs;
  const progress = startProgress(context, `rebuild ${name}`, 'events');
  let status = first;
  try {
    for (;;) {
      if (status.rebuild?.state === 'failed' || (!status.rebuild && status.state === 'failed')) {
        throw new CliExit(EXIT_FAILURE_FOUND, `the rebuild of ${name} failed: ${status.lastError?.message ?? 'see projections status'}`);
      }
      if (!status.rebuild) {
        progress.update(status.eventsHandled, status.eventsHandled);
        return status;
      }
      progress.update(status.rebuild.eventsDone ?? 0, status.rebuild.eventsTotal ?? undefined);
      if (context.signal.aborted) throw new CliExit(EXIT_USAGE, `stopped waiting; the rebuild of ${name} goes on in the app`);
      if (Date.now() >= deadline) throw new CliExit(EXIT_USAGE, `the rebuild of ${name} did not finish within ${Math.round(timeoutMs / 1_000)} s; it goes on in the app`);
      await delay(POLL_MS, context.signal);
      const { projectionStatuses } = await adminRequest<{ projectionStatuses: ProjectionStatus[] }>(target, `{ projectionStatuses { ${PROJECTION_FIELDS} } }`);
      const next = projectionStatuses.find((candidate) => candidate.name === name);
      if (!next) throw new CliExit(EXIT_USAGE, `the API no longer lists the projection ${name}`);
      status = next;
    }
  } finally {
    progress.stop();
  }
}
