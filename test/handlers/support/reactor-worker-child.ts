/**
 * A reactor worker process for crash and takeover tests. Arguments: a connection string (`sqlite:<path>`
 * or `postgres://…`), the worker id, the partition count and the lease time in ms. Runs the ledger
 * reactor. Reports over IPC: `{ kind: 'ready' }`, `{ kind: 'held', partitions, at }` whenever its
 * partitions change, and `{ kind: 'handled', count }` every 100 events. `'stop'` stops it cleanly.
 */
import { StateCache } from '../../../src/commands/state-cache';
import { connectEventStore } from '../../../src/event-store/connect';
import { ReactorRunner } from '../../../src/handlers';
import { ledgerReactor } from './ledger';

async function main(): Promise<void> {
  const [connection, workerId, partitions, leaseMs] = process.argv.slice(2);
  const send = (message: object): void => {
    process.send?.(message);
  };
  const store = await connectEventStore(connection);
  let handled = 0;
  const runner = await ReactorRunner.start({
    store,
    reactors: [ledgerReactor(() => (++handled % 100 === 0 ? send({ kind: 'handled', count: handled }) : undefined))],
    commands: { store, cache: new StateCache() },
    workerId,
    partitions: { count: Number(partitions), leaseMs: Number(leaseMs) },
    checkpointIntervalMs: 20,
  });
  let held = '';
  const report = (): void => {
    const now = runner.worker().heldPartitions.join(',');
    if (now !== held) {
      held = now;
      send({ kind: 'held', partitions: runner.worker().heldPartitions, at: Date.now() });
    }
  };
  report();
  setInterval(report, 10).unref();
  process.on('message', (message) => {
    if (message === 'stop') {
      void runner
        .stop()
        .then(() => store.close())
        .then(() => process.exit(0));
    }
  });
  send({ kind: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(`reactor worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
