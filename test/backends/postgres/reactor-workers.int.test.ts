import { PostgresEventStore } from '../../../src/backends/postgres/postgres-event-store';
import { testDatabase } from '../../support/postgres';
import { appendOrders, expectExactlyOnce, recordedCounts } from '../../handlers/support/ledger-check';
import { liveWorkers, WorkerProcess, type WorkerMessage } from '../../handlers/support/worker-process';

jest.setTimeout(120_000);

afterAll(async () => {
  await Promise.all([...liveWorkers].map((worker) => worker.kill()));
});

/** When each partition was held by a worker, from its `held` reports; the last interval ends at `end`. */
function holdings(messages: readonly WorkerMessage[], end: number): Map<number, [number, number][]> {
  const intervals = new Map<number, [number, number][]>();
  const since = new Map<number, number>();
  for (const message of messages) {
    if (message.kind !== 'held') continue;
    const now = new Set(message.partitions);
    for (const [partition, from] of since) {
      if (!now.has(partition)) {
        intervals.set(partition, [...(intervals.get(partition) ?? []), [from, message.at!]]);
        since.delete(partition);
      }
    }
    for (const partition of now) if (!since.has(partition)) since.set(partition, message.at!);
  }
  for (const [partition, from] of since) intervals.set(partition, [...(intervals.get(partition) ?? []), [from, end]]);
  return intervals;
}

describe('two reactor workers on PostgreSQL (child processes)', () => {
  let database: { url: string; drop(): Promise<void> };
  let store: PostgresEventStore;
  beforeAll(async () => {
    database = await testDatabase('reactor_workers');
    store = await PostgresEventStore.connect(database.url);
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('split the partitions; when one is killed the other takes over from the checkpoints: nothing lost, nothing doubled', async () => {
    const ids = await appendOrders(store, 100, 40);
    const leaseMs = 1_500;
    const first = new WorkerProcess(database.url, 'worker-a', 8, leaseMs);
    await first.until((message) => message.kind === 'held' && message.partitions!.length === 8, 'all partitions');
    const second = new WorkerProcess(database.url, 'worker-b', 8, leaseMs);
    // The first gives up its surplus at its next lease round; the second takes it.
    await second.until((message) => message.kind === 'held' && message.partitions!.length === 4, 'a fair share');
    await first.until((message) => message.kind === 'held' && message.partitions!.length === 4, 'giving up half');
    const split = [...first.held, ...second.held].sort((a, b) => a - b);
    expect(split).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await first.until((message) => message.kind === 'handled' && message.count! >= 200, 'some work done');
    const killedAt = Date.now();
    await first.kill();
    const beforeTakeover = (await recordedCounts(store)).size;
    await second.until((message) => message.kind === 'held' && message.partitions!.length === 8, 'taking over', 20_000);
    const deadline = Date.now() + 60_000;
    while ((await recordedCounts(store)).size < ids.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200)); // re-count the effects (a wait on their state, bounded)
    }
    await second.stop();
    const stoppedAt = Date.now();
    expect(beforeTakeover).toBeLessThan(ids.length);
    expectExactlyOnce(await recordedCounts(store), ids);

    // Never two holders of one partition at once, and the dead worker's partitions moved only after its lease could expire.
    const ofFirst = holdings(first.messages, killedAt);
    const ofSecond = holdings(second.messages, stoppedAt);
    for (let partition = 0; partition < 8; partition++) {
      for (const [fromA, toA] of ofFirst.get(partition) ?? []) {
        for (const [fromB, toB] of ofSecond.get(partition) ?? []) {
          expect(fromA < toB && fromB < toA ? `partition ${partition} held by both` : 'disjoint').toBe('disjoint');
        }
      }
    }
    const takenOver = first.held.map((partition) => ofSecond.get(partition)!.at(-1)![0]);
    for (const at of takenOver) expect(at - killedAt).toBeGreaterThanOrEqual(leaseMs - 600);
  });
});
