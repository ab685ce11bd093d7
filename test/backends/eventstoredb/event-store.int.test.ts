import { EventStoreDBClient } from '@eventstore/db-client';
import { EventStoreDbEventStore } from '../../../src/backends/eventstoredb/eventstoredb-event-store';
import { connectEventStore } from '../../../src/event-store';
import { runConformanceSuite } from '../../event-store/conformance';
import { runEsdbChainCases } from './chain-cases';

/**
 * EventStoreDB is a server the user runs (it ships neither on npm nor as a binary this machine can get),
 * so the suite runs when `EVENTSTORE_URL` names one, e.g. `esdb://admin:changeit@localhost:2113?tls=false`
 * for `docker run -p 2113:2113 eventstore/eventstore:24.10 --insecure --run-projections=None`. Its
 * database is never emptied: the suite isolates every test by stream-name prefix.
 */
const url = process.env.EVENTSTORE_URL;

// Without a server the whole suite is reported as skipped by Jest, with the reason in its title, so a run
// that never reached EventStoreDB can never count as a pass.
const SKIP_REASON = 'skipped: EVENTSTORE_URL is not set, and no EventStoreDB server can run on this machine';
const suite = url ? describe : describe.skip;

suite(url ? 'EventStoreDB' : `EventStoreDB (${SKIP_REASON})`, () => {
  runConformanceSuite('EventStoreDB', () => connectEventStore(url));

  // The hash-chain cases the mock server runs in eventstoredb-chain.unit.test.ts, here on the real one.
  // A real server's stored bytes cannot be edited through its API, so history is changed here the way
  // another tool could: by writing around the kit with the plain client.
  describe('EventStoreDB hash chain', () => {
    runEsdbChainCases(
      async () => {
        const store = await connectEventStore(url);
        if (!(store instanceof EventStoreDbEventStore)) throw new TypeError(`EVENTSTORE_URL opened a ${store.backend} store`);
        return { store, raw: EventStoreDBClient.connectionString(url!) };
      },
      async ({ store, raw }) => {
        await store.close();
        await raw.dispose();
      },
    );
  });
});
