import { metrics, type Attributes, type Counter, type Histogram, type Meter, type MeterProvider, type ObservableGauge, type UpDownCounter } from '@opentelemetry/api';

const METER_NAME = 'eventfold';

/** Seconds: OpenTelemetry's advice for durations, and the buckets a command or an append falls in. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One lag figure of one projection or reactor, read when metrics are collected. */
export interface LagReading {
  readonly name: string;
  /** Events in the store after what is covered (every event type); undefined when the store cannot count. */
  readonly lagEvents: number | undefined;
  /** How long ago the oldest event still to be handled was recorded, in ms. */
  readonly lagMs: number;
  /** Parked events (reactors only). */
  readonly parked?: number;
}

/** What an engine or a runner reports when metrics are collected (a scrape, an export). */
export type LagSource = () => Promise<readonly LagReading[]>;

interface Instruments {
  readonly commandDuration: Histogram;
  readonly appendDuration: Histogram;
  readonly eventsAppended: Counter;
  readonly reactorAttempts: Counter;
  readonly webhookDeliveries: Counter;
  readonly subscriptionsOpen: UpDownCounter;
  readonly subscriptionPushes: Counter;
  readonly gauges: readonly ObservableGauge[];
}

const sources = { projection: new Set<LagSource>(), reactor: new Set<LagSource>() };
const attached = new Map<MeterProvider, Instruments>();
let global: { provider: MeterProvider; instruments: Instruments } | undefined;
/** The sets recorded to, kept between calls (a recording runs per command). */
let current: Instruments[] = [];

/**
 * Every instrument set the kit records to: the global meter provider's (a no-op until an SDK registers
 * one; re-made when it changes, since the API has no proxy meter) and those attached for `/metrics`.
 */
function instrumentSets(): Instruments[] {
  const provider = metrics.getMeterProvider();
  if (global?.provider !== provider) {
    global = { provider, instruments: makeInstruments(provider.getMeter(METER_NAME)) };
    current = [global.instruments, ...attached.values()];
  }
  return current;
}

function refreshSets(): void {
  if (global) current = [global.instruments, ...attached.values()];
}

/**
 * Makes the kit's instruments on one more meter provider too (the API's `/metrics` one), until the
 * returned function detaches it.
 *
 * @example
 * const detach = attachMeterProvider(prometheusProvider);
 */
export function attachMeterProvider(provider: MeterProvider): () => void {
  if (!attached.has(provider) && provider !== metrics.getMeterProvider()) attached.set(provider, makeInstruments(provider.getMeter(METER_NAME)));
  refreshSets();
  return () => {
    attached.delete(provider);
    refreshSets();
  };
}

/**
 * Reports a projection engine's or a reactor runner's lag while it runs; the returned function stops it.
 *
 * @example
 * const stop = observeLag('reactor', async () => (await runner.status()).map(toReading));
 */
export function observeLag(kind: 'projection' | 'reactor', source: LagSource): () => void {
  sources[kind].add(source);
  return () => void sources[kind].delete(source);
}

function makeInstruments(meter: Meter): Instruments {
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS } };
  const gauge = (name: string, description: string, unit: string): ObservableGauge => meter.createObservableGauge(name, { description, unit });
  const projectionLagEvents = gauge('eventfold_projection_lag_events', 'Events in the store after what a projection has covered.', '{event}');
  const projectionLagSeconds = gauge('eventfold_projection_lag_seconds', 'Age of the oldest event a projection has still to handle.', 's');
  const reactorLagEvents = gauge('eventfold_reactor_lag_events', "Events in the store after a reactor's lowest checkpoint.", '{event}');
  const reactorLagSeconds = gauge('eventfold_reactor_lag_seconds', 'Age of the oldest event a reactor has still to handle.', 's');
  const parkedEvents = gauge('eventfold_reactor_parked_events', 'Events parked by a reactor, waiting for a redrive.', '{event}');
  meter.addBatchObservableCallback(
    async (observer) => {
      const read = async (kind: 'projection' | 'reactor'): Promise<void> => {
        const readings = await Promise.all([...sources[kind]].map((source) => source().catch(() => [] as LagReading[])));
        for (const reading of readings.flat()) {
          const attributes = { [kind === 'projection' ? 'eventfold.projection.name' : 'eventfold.reactor.name']: reading.name };
          if (reading.lagEvents !== undefined) observer.observe(kind === 'projection' ? projectionLagEvents : reactorLagEvents, reading.lagEvents, attributes);
          observer.observe(kind === 'projection' ? projectionLagSeconds : reactorLagSeconds, reading.lagMs / 1_000, attributes);
          if (reading.parked !== undefined) observer.observe(parkedEvents, reading.parked, attributes);
        }
      };
      await Promise.all([read('projection'), read('reactor')]);
    },
    [projectionLagEvents, projectionLagSeconds, reactorLagEvents, reactorLagSeconds, parkedEvents],
  );
  return {
    commandDuration: meter.createHistogram('eventfold_command_duration_seconds', { description: 'Time to handle one command, by command type and outcome.', ...seconds }),
    appendDuration: meter.createHistogram('eventfold_append_duration_seconds', { description: "Time of one append of a command's events.", ...seconds }),
    eventsAppended: meter.createCounter('eventfold_events_appended', { description: 'Events appended by commands.', unit: '{event}' }),
    reactorAttempts: meter.createCounter('eventfold_reactor_attempts', { description: 'Reactor handler attempts, by outcome.', unit: '{attempt}' }),
    webhookDeliveries: meter.createCounter('eventfold_webhook_deliveries', { description: 'Webhook deliveries, by HTTP status (0: no answer).', unit: '{delivery}' }),
    subscriptionsOpen: meter.createUpDownCounter('eventfold_subscriptions_open', { description: 'Live GraphQL subscriptions open now.', unit: '{subscription}' }),
    subscriptionPushes: meter.createCounter('eventfold_subscription_pushes', { description: 'Values pushed to live GraphQL subscriptions.', unit: '{push}' }),
    gauges: [projectionLagEvents, projectionLagSeconds, reactorLagEvents, reactorLagSeconds, parkedEvents],
  };
}

/** The kit's recordings; each goes to every instrument set (one with no `/metrics`). */
export const record = {
  command(seconds: number, commandType: string, outcome: string): void {
    const attributes: Attributes = { 'eventfold.command.type': commandType, 'eventfold.command.outcome': outcome };
    for (const set of instrumentSets()) set.commandDuration.record(seconds, attributes);
  },
  append(seconds: number, events: number, backend: string): void {
    const attributes: Attributes = { 'db.system.name': backend };
    for (const set of instrumentSets()) {
      set.appendDuration.record(seconds, attributes);
      set.eventsAppended.add(events, attributes);
    }
  },
  reactorAttempt(reactor: string, outcome: string): void {
    const attributes: Attributes = { 'eventfold.reactor.name': reactor, 'eventfold.reactor.outcome': outcome };
    for (const set of instrumentSets()) set.reactorAttempts.add(1, attributes);
  },
  webhookDelivery(reactor: string, statusCode: number): void {
    const attributes: Attributes = { 'eventfold.reactor.name': reactor, 'http.response.status_code': statusCode };
    for (const set of instrumentSets()) set.webhookDeliveries.add(1, attributes);
  },
  subscriptionOpened(projection: string, change: 1 | -1): void {
    const attributes: Attributes = { 'eventfold.projection.name': projection };
    for (const set of instrumentSets()) set.subscriptionsOpen.add(change, attributes);
  },
  subscriptionPush(projection: string): void {
    const attributes: Attributes = { 'eventfold.projection.name': projection };
    for (const set of instrumentSets()) set.subscriptionPushes.add(1, attributes);
  },
};
