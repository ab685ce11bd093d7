import { printSubgraphSchema } from '@apollo/subgraph';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { connectEventStore, InMemoryReadModelStore, silentLogger } from '../../../src';
import { createApi, tenantReader, type ApiOptions } from '../../../src/api';
import { ticket } from './ticket';
import { ticketBoard } from './ticket-board.projection';
import { ticketResolvers } from './ticket.graphql';

export const SCHEMA_HEADER = '# Generated from the code by test/api/app/emit-schema.ts: do not edit; run `npm run schema`.\n';

/** The federation the test app's subgraph variant is built with: `Ticket` is an entity keyed by `ticketId`. */
export const TEST_APP_FEDERATION: ApiOptions['federation'] = {
  entities: {
    Ticket: { key: 'ticketId', resolveReference: (reference, context) => tenantReader(context, ticketBoard, 'tickets').get(String(reference.ticketId)) },
  },
};

/** The test app's schema (kit built-ins included) as SDL, sorted so that the text is stable. */
export async function testAppSchemaText(): Promise<string> {
  return `${SCHEMA_HEADER}\n${printSchema(lexicographicSortSchema(await testAppSchema({})))}\n`;
}

/**
 * The same schema as a Federation 2 subgraph (`createApi({ federation })`), as the router composes
 * it: the subgraph SDL with its `@link` and `@key` directives.
 */
export async function federatedSchemaText(): Promise<string> {
  const header = SCHEMA_HEADER.replace('do not edit', 'the Federation 2 subgraph variant; do not edit');
  return `${header}\n${printSubgraphSchema(await testAppSchema({ federation: TEST_APP_FEDERATION }))}\n`;
}

async function testAppSchema(options: Pick<ApiOptions, 'federation'>): Promise<GraphQLSchema> {
  const eventStore = await connectEventStore('memory:');
  const readModels = new InMemoryReadModelStore();
  try {
    const api = await createApi({
      eventStore,
      readModels,
      projections: [ticketBoard],
      aggregates: [ticket],
      resolvers: ticketResolvers(),
      auth: { mode: 'off' },
      logger: silentLogger,
      ...options,
    });
    return api.schema;
  } finally {
    await readModels.close();
    await eventStore.close();
  }
}
