/**
 * Appends deposits through an engine with the ledger projection inline, until it is killed. Argument:
 * `sqlite:<file>` or a PostgreSQL URL (read models in the same database). Reports over IPC
 * `{ kind: 'ready' }`, then `{ kind: 'appended', id, amount, position }` for every acknowledged append.
 */
import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../../src/backends/postgres/postgres-event-store';
import { SqliteEventStore } from '../../../src/backends/sqlite/sqlite-event-store';
import { ProjectionEngine } from '../../../src/projections/projection-engine';
import { PostgresReadModelStore } from '../../../src/backends/postgres/postgres-read-model-store';
import { SqliteReadModelStore } from '../../../src/backends/sqlite/sqlite-read-model-store';
import { ledgerProjection } from './ledger.projection';

async function main(): Promise<void> {
  const [location] = process.argv.slice(2);
  const send = (message: object): void => {
    process.send?.(message);
  };
  const sqlite = location!.startsWith('sqlite:') ? location!.slice('sqlite:'.length) : undefined;
  const eventStore = sqlite ? SqliteEventStore.open(sqlite) : await PostgresEventStore.connect(location!);
  const readModels = sqlite ? SqliteReadModelStore.open(sqlite, { synchronous: 'full' }) : await PostgresReadModelStore.connect(location!);
  const engine = new ProjectionEngine({ eventStore, readModels, projections: [ledgerProjection()], inline: ['ledger'] });
  await engine.start();
  await engine.waitForState('ledger', 'live', { timeoutMs: 20_000 });
  send({ kind: 'ready' });
  // Bounded in count; the parent kills the process long before the end.
  for (let round = 0; round < 100_000; round++) {
    await Promise.all(
      Array.from({ length: 8 }, async (_, n) => {
        const id = randomUUID();
        const amount = ((round * 8 + n) % 17) + 1;
        const { position } = await eventStore.appendToStream(`account-${n}`, [
          { id, type: 'Deposited', data: { accountId: `a-${n}`, amount } },
        ]);
        send({ kind: 'appended', id, amount, position: position.toString() });
      }),
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`inline child failed: ${String(error)}\n`);
  process.exit(1);
});
