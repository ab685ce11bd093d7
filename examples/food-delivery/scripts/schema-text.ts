import 'reflect-metadata';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { connectEventStore, createApi, InMemoryReadModelStore } from '../src/eventfold';
import { orderResolvers } from '../src/api/order.resolvers';
import { order } from '../src/domain/order';
import { ordersProjection } from '../src/read-models/orders.projection';

export const APP_SCHEMA_HEADER = '# The food-delivery API, generated from its code by `npm run schema`: do not edit. Its front end is typed from it (`npm run codegen`).\n';

/** The reference app's GraphQL schema as SDL, sorted so that the text is stable. */
export async function appSchemaText(): Promise<string> {
  const eventStore = await connectEventStore('memory:');
  const readModels = new InMemoryReadModelStore();
  try {
    const api = await createApi({
      eventStore,
      readModels,
      projections: [ordersProjection],
      aggregates: [order],
      // Only the schema is printed: no resolver runs, so forgetting is never asked for.
      resolvers: orderResolvers({ restaurantApproval: 'auto', forgetCustomer: () => Promise.reject(new Error('the schema emitter forgets no one')) }),
      auth: { mode: 'off' },
    });
    return `${APP_SCHEMA_HEADER}\n${printSchema(lexicographicSortSchema(api.schema))}\n`;
  } finally {
    await readModels.close();
    await eventStore.close();
  }
}
