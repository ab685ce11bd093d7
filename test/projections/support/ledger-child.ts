/**
 * Runs the ledger projection in its own process, for tests that kill it. Arguments: the events file,
 * the read-model file, and optionally `--block-on <eventId>`: after handling that event the handler
 * never returns, so the batch's writes are made but never committed. Reports over IPC:
 * `{ kind: 'ready' }`, `{ kind: 'committed', position }` after each batch, `{ kind: 'blocked' }`.
 */
import { SqliteEventStore } from '../../../src/backends/sqlite/sqlite-event-store';
import { ProjectionEngine } from '../../../src/projections/projection-engine';
import { SqliteReadModelStore } from '../../../src/backends/sqlite/sqlite-read-model-store';
import { ledgerProjection } from './ledger.projection';

async function main(): Promise<void> {
  const [eventsPath, readModelsPath, flag, blockOn] = process.argv.slice(2);
  const send = (message: object): void => {
    process.send?.(message);
  };
  const eventStore = SqliteEventStore.open(eventsPath!);
  const readModels = SqliteReadModelStore.open(readModelsPath!, { synchronous: 'full' });
  const projection = ledgerProjection({
    batchSize: Number(process.env.LEDGER_BATCH_SIZE ?? 100),
    onEvent: async (eventId) => {
      if (flag === '--block-on' && eventId === blockOn) {
        send({ kind: 'blocked' });
        await new Promise<never>(() => undefined);
      }
    },
  });
  const engine = new ProjectionEngine({ eventStore, readModels, projections: [projection] });
  engine.changes.subscribe((change) => send({ kind: 'committed', position: change.position.toString() }));
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
  send({ kind: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(`ledger child failed: ${String(error)}\n`);
  process.exit(1);
});
