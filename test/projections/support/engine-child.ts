/**
 * Runs the order-summary projection engine in a process of its own, against the PostgreSQL database
 * named by the first argument. Reports `{ kind: 'ready' }` over IPC once running; stops on 'stop'.
 */
import { PostgresEventStore } from '../../../src/backends/postgres/postgres-event-store';
import { ProjectionEngine } from '../../../src/projections/projection-engine';
import { PostgresReadModelStore } from '../../../src/backends/postgres/postgres-read-model-store';
import { orderSummary } from './order-summary.projection';

async function main(): Promise<void> {
  const url = process.argv[2]!;
  const eventStore = await PostgresEventStore.connect(url);
  const readModels = await PostgresReadModelStore.connect(url);
  const engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
  process.on('message', (message) => {
    if (message === 'stop') {
      void engine
        .stop()
        .then(() => readModels.close())
        .then(() => eventStore.close())
        .then(() => process.exit(0));
    }
  });
  await engine.start();
  process.send?.({ kind: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(`engine child failed: ${String(error)}\n`);
  process.exit(1);
});
