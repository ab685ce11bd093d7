import { lexicographicSortSchema, printSchema } from 'graphql';
import { connectEventStore, InMemoryReadModelStore, silentLogger } from '../../../src';
import { createApi } from '../../../src/api';
import { ticket } from './ticket';
import { ticketBoard } from './ticket-board.projection';
import { ticketResolvers } from './ticket.graphql';

export const SCHEMA_HEADER = '# Generated from the code by test/api/app/emit-schema.ts: do not edit; run `npm run schema`.\n';

/** The test app's schema (kit built-ins included) as SDL, sorted so that the text is stable. */
export async function testAppSchemaText(): Promise<string> {
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
    });
    return `${SCHEMA_HEADER}\n${printSchema(lexicographicSortSchema(api.schema))}\n`;
  } finally {
    await readModels.close();
    await eventStore.close();
  }
}
