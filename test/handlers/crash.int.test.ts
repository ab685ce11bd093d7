import { SqliteEventStore } from '../../src/backends/sqlite/sqlite-event-store';
import { seededRandom } from '../event-store/subscription-helpers';
import { tempDir } from '../projections/support/temp-dir';
import { appendOrders, expectExactlyOnce, recordedCounts } from './support/ledger-check';
import { liveWorkers, WorkerProcess } from './support/worker-process';

jest.setTimeout(120_000);

afterAll(async () => {
  await Promise.all([...liveWorkers].map((worker) => worker.kill()));
});

describe('a reactor worker killed with SIGKILL at random moments (SQLite, child processes)', () => {
  const dir = tempDir('eventfold-reactor-crash-');
  afterAll(() => dir.remove());

  it('applies every one of 10,000 events exactly once in effect: no command issued twice, none lost', async () => {
    const seed = Number(process.env.REACTOR_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    const path = dir.file('events.db');
    const store = SqliteEventStore.open(path);
    try {
      const ids = await appendOrders(store, 250, 40);
      expect(ids).toHaveLength(10_000);
      const kills: number[] = [];
      // Bounded in count and time: at most 8 kills, each within a second of the worker being ready.
      for (let round = 0; round < 8; round++) {
        const worker = new WorkerProcess(`sqlite:${path}`, `crash-${round}`, 8, 2_000);
        await worker.until((message) => message.kind === 'ready', 'ready');
        const done = (await recordedCounts(store)).size;
        if (done === ids.length) {
          await worker.stop();
          break;
        }
        await new Promise<void>((resolve) => setTimeout(resolve, 20 + random() * 400)); // a random moment to kill at
        await worker.kill();
        kills.push((await recordedCounts(store)).size);
      }
      // Kills landed while work remained (with the seed to replay the moments if not).
      const midWork = kills.filter((count) => count < ids.length).length;
      expect(midWork >= 3 ? 'ok' : `only ${midWork} kills landed mid-work: ${kills.join(', ')} (seed ${seed})`).toBe('ok');
      // A last worker finishes the job and stops cleanly.
      const last = new WorkerProcess(`sqlite:${path}`, 'crash-final', 8, 2_000);
      await last.until((message) => message.kind === 'ready', 'ready');
      const deadline = Date.now() + 60_000;
      while ((await recordedCounts(store)).size < ids.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200)); // re-count the effects (a wait on their state, bounded)
      }
      await last.stop();
      expectExactlyOnce(await recordedCounts(store), ids);
    } finally {
      await store.close();
    }
  });
});
