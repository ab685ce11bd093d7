import fc from 'fast-check';
import { v5 as uuidV5 } from 'uuid';
import type { CommandEnvironment } from '../commands/handle-command';
import type { EventMetadata, EventStore, JsonValue, RecordedEvent } from '../event-store/event-store';
import { InMemoryEventStore } from '../event-store/in-memory-event-store';
import { ReactorVerificationError, errorInfo, type ReactorErrorInfo } from '../handlers/errors';
import { silentLogger } from '../internal/logger';
import { resolveReactor, type Reactor, type ResolvedReactor } from '../handlers/reactor';
import { commandSender } from '../handlers/send-command';
import { lineDiff } from './line-diff';
import { ScenarioTimers } from './scenario-timers';
import type { AnyAggregate } from '../handlers/timer-runtime';

/** One event of a scenario, appended in this order before the reactor runs. */
export interface ScenarioEvent {
  readonly streamName: string;
  readonly type: string;
  readonly data: JsonValue;
  readonly metadata?: EventMetadata;
  /** When it was recorded, as the handler sees it. Default: 2026-01-01T00:00:00Z plus one second per event, the same in every run. */
  readonly recordedAt?: Date;
}

/** An event that commands appended while the reactor ran (what `context.send` issued). */
export interface IssuedEvent {
  readonly streamName: string;
  readonly type: string;
  readonly data: JsonValue;
}

/**
 * What to run and what must come out the same.
 *
 * @example
 * const scenario: ReactorScenario<{ sent: Set<string> }> = {
 *   events: [{ streamName: 'order-1', type: 'OrderShipped', data: { email: 'a@example.com' } }],
 *   setup: () => ({ sent: new Set() }),
 *   observe: (world) => [...world.sent].sort(),
 * };
 */
export interface ReactorScenario<World = undefined> {
  readonly events: readonly ScenarioEvent[];
  /**
   * A fresh world for every run (read models, fakes of outside services), handed to the reactor
   * factory and to `observe`. It gets the run's in-memory store (the scenario's events are in it).
   */
  readonly setup?: (run: { readonly store: EventStore }) => World | Promise<World>;
  /**
   * The outcome that must not depend on order or duplicates, besides the commands issued (always
   * compared) and the events that failed every attempt. Return plain data: it is compared as JSON with
   * sorted keys.
   */
  readonly observe?: (world: World, outcome: { readonly issued: readonly IssuedEvent[]; readonly store: EventStore }) => unknown;
  /** Shuffled runs after the in-order one. Default 100. */
  readonly runs?: number;
  /** Replays a failure: the seed from its message. Default: a fresh one, reported on failure. */
  readonly seed?: number;
  /** Most redeliveries per stream (`per-stream`) or per run (`unordered`). Default 3. */
  readonly maxRedeliveries?: number;
  /** Extra command environment for `context.send` (a clock, a cache); the store is the scenario's. */
  readonly commands?: Omit<CommandEnvironment, 'store'>;
  /** The aggregates timers (`context.schedule`) send commands to. */
  readonly aggregates?: readonly AnyAggregate[];
  /**
   * How far time moves past the last event's `recordedAt` at the end, firing the timers due by then
   * (their commands count as issued). Default: far enough for every timer. Shuffled runs also jump time
   * forward at random points in between (never past that end).
   */
  readonly advanceMs?: number;
  /** Streams whose events are left out of the issued commands compared (a process's own streams). */
  readonly ignoreStreamPrefixes?: readonly string[];
}

/** What a passing verification checked. */
export interface ReactorVerification {
  readonly seed: number;
  readonly runs: number;
  /** The in-order outcome every run matched. */
  readonly outcome: unknown;
}

/** A fixed namespace: the scenario's event ids are the same in every run. */
const SCENARIO_NAMESPACE = '0b3c6a0e-2f0d-4c55-8a55-6a2e1c9d7f30';
const FIXED_TIME = new Date('2026-01-01T00:00:00.000Z');

type Delivery = readonly RecordedEvent[];
/** Time jumps of a run: after delivery `after` (modulo the count), time moves to `fraction`/1000 of the way to the end. */
type Jumps = readonly (readonly [after: number, fraction: number])[];

/**
 * Checks that a reactor is idempotent and order-tolerant: it runs the scenario's events through the
 * reactor once in order, then `runs` more times (fast-check) with redeliveries and shuffled order — as
 * the runtime may deliver them: per stream in order with replays from a checkpoint for `per-stream`
 * reactors, any order with duplicates for `unordered` ones — and fails if the commands issued, the
 * events that failed, or the scenario's `observe` differ from the in-order run. Each run gets a fresh
 * in-memory store and world. A failure names the seed to replay it and shows the deliveries and a diff.
 *
 * @example
 * await verifyReactor((world) => notifyCustomer(world.mailer), {
 *   events: [placed, shipped],
 *   setup: () => ({ mailer: new FakeMailer() }),
 *   observe: (world) => world.mailer.sentTo(),
 * });
 * @throws ReactorVerificationError with `seed` when some run differs.
 */
export async function verifyReactor<World = undefined>(
  reactor: Reactor | ((world: World) => Reactor),
  scenario: ReactorScenario<World>,
): Promise<ReactorVerification> {
  const seed = scenario.seed ?? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  const runs = scenario.runs ?? 100;
  const maxRedeliveries = scenario.maxRedeliveries ?? 3;
  if (!Array.isArray(scenario.events) || scenario.events.length === 0) {
    throw new ReactorVerificationError('verifyReactor needs at least one scenario event', seed);
  }
  const probe = await prepareRun(reactor, scenario);
  if (scenario.advanceMs !== undefined && (!Number.isSafeInteger(scenario.advanceMs) || scenario.advanceMs < 0)) {
    throw new ReactorVerificationError('advanceMs must be a whole number of milliseconds, 0 or more', seed);
  }
  const baseline = await execute(probe, probe.recorded, [], scenario);
  const streams = groupByStream(probe.recorded);
  const arbitrary =
    probe.reactor.ordering === 'per-stream' ? perStreamDeliveries(streams, maxRedeliveries) : unorderedDeliveries(probe.recorded, maxRedeliveries);
  let failure: { deliveries: Delivery; jumps: Jumps; outcome: unknown } | undefined;
  try {
    await fc.assert(
      fc.asyncProperty(arbitrary, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 1_000 })), { maxLength: 4 }), async (deliveries, jumps) => {
        const run = await prepareRun(reactor, scenario);
        // Same ids in every run, so the deliveries (built from the probe) map onto this run's events.
        const byId = new Map(run.recorded.map((event) => [event.id, event]));
        const outcome = await execute(run, deliveries.map((event) => byId.get(event.id)!), jumps, scenario);
        if (canonical(outcome) !== canonical(baseline)) {
          failure = { deliveries, jumps, outcome };
          return false;
        }
        return true;
      }),
      { seed, numRuns: runs },
    );
  } catch (error) {
    const shown = failure
      ? `\ndeliveries: ${failure.deliveries.map((event) => `${event.streamName}@${event.revision}`).join(', ')}${
          failure.jumps.length > 0 ? `\ntime jumps (after delivery, per mille of the way to the end): ${failure.jumps.map(([after, fraction]) => `${after % Math.max(1, failure!.deliveries.length)}:${fraction}`).join(', ')}` : ''
        }\n${lineDiff(baseline, failure.outcome)}`
      : '';
    throw new ReactorVerificationError(
      `reactor "${probe.reactor.name}" gives a different outcome when events come again or in another order (seed ${seed}; replay with { seed: ${seed} })${shown}\n\n${
        error instanceof Error ? error.message : String(error)
      }`,
      seed,
      { cause: error },
    );
  }
  return { seed, runs, outcome: baseline };
}

interface PreparedRun<World> {
  readonly reactor: ResolvedReactor;
  readonly world: World;
  readonly store: InMemoryEventStore;
  readonly recorded: readonly RecordedEvent[];
}

async function prepareRun<World>(reactor: Reactor | ((world: World) => Reactor), scenario: ReactorScenario<World>): Promise<PreparedRun<World>> {
  const store = new InMemoryEventStore();
  let index = 0;
  for (const event of scenario.events) {
    await store.appendToStream(event.streamName, [
      { id: uuidV5(`scenario:${index++}`, SCENARIO_NAMESPACE), type: event.type, data: event.data, metadata: event.metadata ?? {} },
    ]);
  }
  const world = (scenario.setup ? await scenario.setup({ store }) : undefined) as World;
  const resolved = resolveReactor(typeof reactor === 'function' ? reactor(world) : reactor);
  const recorded: RecordedEvent[] = [];
  // The same recording times in every run: a handler may build its commands from them.
  for await (const event of store.readAll()) {
    const index = recorded.length;
    recorded.push({ ...event, recordedAt: scenario.events[index]!.recordedAt ?? new Date(FIXED_TIME.getTime() + index * 1_000) });
  }
  return { reactor: resolved, world, store, recorded };
}

async function execute<World>(run: PreparedRun<World>, deliveries: readonly RecordedEvent[], jumps: Jumps, scenario: ReactorScenario<World>): Promise<unknown> {
  const { reactor, store } = run;
  const environment: CommandEnvironment = { clock: () => FIXED_TIME, ...scenario.commands, store };
  const signal = new AbortController().signal;
  const failed = new Map<string, ReactorErrorInfo>();
  const timers = new ScenarioTimers(reactor, environment, scenario.aggregates ?? [], run.recorded, scenario.advanceMs);
  const jumpsAfter = new Map<number, number[]>();
  for (const [after, fraction] of jumps) {
    const index = after % Math.max(1, deliveries.length);
    jumpsAfter.set(index, [...(jumpsAfter.get(index) ?? []), fraction]);
  }
  for (const [index, event] of deliveries.entries()) {
    for (const fraction of jumpsAfter.get(index - 1) ?? []) await timers.jump(fraction, failed);
    if (!matches(reactor, event)) continue;
    // Retries without waiting: a delivery fails only when every attempt does.
    let lastError: ReactorErrorInfo | undefined;
    for (let attempt = 1; attempt <= reactor.retry.maxAttempts; attempt++) {
      const scheduler = timers.scheduler(event);
      try {
        await reactor.handle(event, {
          idempotencyKey: event.id,
          delivery: { attempt, maxAttempts: reactor.retry.maxAttempts },
          logger: silentLogger,
          signal,
          send: commandSender(environment, reactor.name, event),
          schedule: (aggregate, request, when) => scheduler.schedule(aggregate, request, when),
          cancelSchedule: (key) => scheduler.cancel(key),
        });
        await timers.commit(scheduler.changes);
        lastError = undefined;
        break;
      } catch (error) {
        lastError = errorInfo(error);
        if ((error as { retryable?: unknown }).retryable === false) break;
      }
    }
    if (lastError) failed.set(event.id, lastError);
    else failed.delete(event.id);
  }
  for (const fraction of jumpsAfter.get(deliveries.length - 1) ?? []) await timers.jump(fraction, failed);
  await timers.finish(failed);
  const scenarioIds = new Set(run.recorded.map((event) => event.id));
  const issued: IssuedEvent[] = [];
  for await (const event of store.readAll()) {
    if (scenario.ignoreStreamPrefixes?.some((prefix) => event.streamName.startsWith(prefix))) continue;
    if (!scenarioIds.has(event.id)) issued.push({ streamName: event.streamName, type: event.type, data: event.data });
  }
  issued.sort((a, b) => compareText(canonical(a), canonical(b)));
  const failedEvents = [...failed.entries()]
    .map(([id, error]) => {
      const event = run.recorded.find((item) => item.id === id);
      return { event: event ? `${event.streamName}@${event.revision}` : id, error: error.message };
    })
    .sort((a, b) => compareText(a.event, b.event));
  const observed = scenario.observe ? await scenario.observe(run.world, { issued, store }) : undefined;
  const pending = await timers.pending();
  return { issued, failed: failedEvents, ...(pending.length > 0 ? { pendingTimers: pending } : {}), ...(scenario.observe ? { observed: toPlain(observed) } : {}) };
}

function matches(reactor: ResolvedReactor, event: RecordedEvent): boolean {
  const { eventTypes, streamPrefixes } = reactor.filter;
  if (eventTypes && !eventTypes.includes(event.type)) return false;
  if (streamPrefixes && !streamPrefixes.some((prefix) => event.streamName.startsWith(prefix))) return false;
  return true;
}

function groupByStream(events: readonly RecordedEvent[]): RecordedEvent[][] {
  const streams = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    const list = streams.get(event.streamName) ?? [];
    list.push(event);
    streams.set(event.streamName, list);
  }
  return [...streams.values()];
}

/**
 * Per-stream deliveries: each stream in order, with up to `max` replays from an earlier point (as after
 * a restart from a checkpoint), streams interleaved at random. Shrinks towards the in-order run.
 */
function perStreamDeliveries(streams: readonly RecordedEvent[][], max: number): fc.Arbitrary<Delivery> {
  const total = streams.reduce((sum, stream) => sum + stream.length, 0);
  return fc
    .record({
      replays: fc.tuple(...streams.map(() => fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: max }))),
      interleave: fc.array(fc.nat(), { minLength: total * (max + 1), maxLength: total * (max + 1) }),
    })
    .map(({ replays, interleave }) => {
      const sequences = streams.map((stream, index) => {
        const sequence: RecordedEvent[] = [];
        let progress = 0;
        for (const [advance, rewind] of replays[index] as [number, number][]) {
          const end = Math.min(stream.length, progress + 1 + (advance % stream.length));
          sequence.push(...stream.slice(progress, end));
          progress = end;
          progress -= Math.min(progress, 1 + (rewind % stream.length));
        }
        sequence.push(...stream.slice(progress));
        return sequence;
      });
      const cursors = sequences.map(() => 0);
      const deliveries: RecordedEvent[] = [];
      let pick = 0;
      for (;;) {
        const open = sequences.flatMap((sequence, index) => (cursors[index]! < sequence.length ? [index] : []));
        if (open.length === 0) break;
        const chosen = open[(interleave[pick++] ?? 0) % open.length]!;
        deliveries.push(sequences[chosen]![cursors[chosen]!++]!);
      }
      return deliveries;
    });
}

/** Unordered deliveries: every event, plus up to `max` duplicates, in any order. */
function unorderedDeliveries(events: readonly RecordedEvent[], max: number): fc.Arbitrary<Delivery> {
  return fc
    .record({
      keys: fc.array(fc.nat(), { minLength: events.length, maxLength: events.length }),
      duplicates: fc.array(fc.tuple(fc.nat({ max: events.length - 1 }), fc.nat()), { maxLength: max }),
    })
    .map(({ keys, duplicates }) => {
      const keyed = [
        ...events.map((event, index) => ({ event, key: keys[index]!, order: index })),
        ...duplicates.map(([index, key], order) => ({ event: events[index]!, key, order: events.length + order })),
      ];
      keyed.sort((a, b) => a.key - b.key || a.order - b.order);
      return keyed.map((item) => item.event);
    });
}

function canonical(value: unknown): string {
  return JSON.stringify(toPlain(value));
}

/** JSON-safe with sorted keys (bigints as strings, Maps and Sets as arrays). */
function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Map) return [...value.entries()].map(([key, item]) => [toPlain(key), toPlain(item)]);
  if (value instanceof Set) return [...value].map(toPlain);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = toPlain((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
