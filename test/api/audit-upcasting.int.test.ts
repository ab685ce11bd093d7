import { z } from 'zod';
import { defineAggregate, defineCommands } from '../../src/domain';
import { ticket } from './app/ticket';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';
import { currentLines, lineAddedUnversioned, lineAddedV1, orderLineEvents } from '../domain/versioned-order';

/** An aggregate whose LineAdded changed shape; only its catalog matters to the audit API. */
const lineOrder = defineAggregate({
  category: 'lineorder',
  commands: defineCommands({ Note: { schema: z.object({ note: z.string() }), stream: 'any' } }),
  events: orderLineEvents,
  decider: {
    initialState: () => ({ lines: 0 }),
    decide: (command) => [{ type: 'OrderNoted' as const, data: { note: command.data.note } }],
    evolve: (state, event) => (event.type === 'LineAdded' ? { lines: state.lines + 1 } : state),
  },
});

describe('the audit API sees the current schema (SQLite, real HTTP)', () => {
  let app: TestApi;

  beforeAll(async () => {
    app = await startTestApi({ aggregates: [ticket, lineOrder] });
  });
  afterAll(() => app.close());

  it("streamEvents and correlation give a registered aggregate's v1 events upcast to v2", async () => {
    const auditor = bearer(await token('auditor-1', ['auditor']));
    const v1 = { ...lineAddedV1('tea', 2), metadata: { schemaVersion: 1, correlationId: 'wf-1' } };
    const unversioned = { ...lineAddedUnversioned('jam', 5), metadata: { correlationId: 'wf-1' } };
    await app.eventStore.appendToStream('lineorder-1', [v1, unversioned]);

    const page = await gql<{ streamEvents: { events: { data: unknown; metadata: { schemaVersion?: number } }[] } }>(
      app.url,
      '{ streamEvents(streamName: "lineorder-1") { events { data metadata } } }',
      {},
      auditor,
    );
    expect(page.body.errors).toBeUndefined();
    expect(page.body.data!.streamEvents.events.map((event) => event.data)).toEqual(currentLines);
    expect(page.body.data!.streamEvents.events.map((event) => event.metadata.schemaVersion)).toEqual([2, 2]);

    const workflow = await gql<{ correlation: { events: { data: unknown }[] } }>(
      app.url,
      '{ correlation(correlationId: "wf-1") { events { data } } }',
      {},
      auditor,
    );
    expect(workflow.body.errors).toBeUndefined();
    expect(workflow.body.data!.correlation.events.map((event) => event.data)).toEqual(currentLines);
  });
});
