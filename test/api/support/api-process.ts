// A second API process for the two-process test: the ticket app on PostgreSQL, running the
// projections, on a free loopback port. It tells its parent the URL, and shuts down gracefully on
// the parent's 'stop' message.
import { connectEventStore } from '../../../src';
import { createApi } from '../../../src/api';
import { PostgresReadModelStore } from '../../../src/backends/postgres';
import { ticket } from '../app/ticket';
import { ticketBoard } from '../app/ticket-board.projection';
import { ticketResolvers } from '../app/ticket.graphql';
import { JWT_SECRET, memoryLogger } from './test-api';

async function main(): Promise<void> {
  const url = process.argv[2]!;
  const eventStore = await connectEventStore(url);
  const readModels = await PostgresReadModelStore.connect(url);
  const api = await createApi({
    eventStore,
    readModels,
    projections: [ticketBoard],
    aggregates: [ticket],
    resolvers: ticketResolvers(),
    auth: { mode: 'jwt', secret: JWT_SECRET },
    logger: memoryLogger(),
  });
  const { url: apiUrl } = await api.listen({ port: 0, host: '127.0.0.1' });
  process.on('message', (message) => {
    if (message !== 'stop') return;
    void (async () => {
      await api.close();
      await readModels.close();
      await eventStore.close();
      process.send!('stopped');
      process.exit(0);
    })();
  });
  process.send!({ url: apiUrl });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
