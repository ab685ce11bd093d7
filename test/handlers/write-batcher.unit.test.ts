import { WriteBatcher } from '../../src/handlers/write-batcher';

describe('WriteBatcher', () => {
  it('writes the callers of one event-loop turn together, even when the write itself is synchronous', async () => {
    const writes: number[][] = [];
    // Like SQLite: the write is done before it returns.
    const batcher = new WriteBatcher<number>((items) => {
      writes.push([...items]);
      return Promise.resolve();
    });
    await Promise.all([batcher.add([1]), batcher.add([2, 3]), batcher.add([4])]);
    expect(writes).toEqual([[1, 2, 3, 4]]);
  });

  it('with isolateFailures, a failed group is written again caller by caller: only the bad caller fails', async () => {
    const writes: number[][] = [];
    const batcher = new WriteBatcher<number>(
      (items) => {
        writes.push([...items]);
        return items.includes(13) ? Promise.reject(new Error('13 refused')) : Promise.resolve();
      },
      { isolateFailures: true },
    );
    const outcomes = await Promise.allSettled([batcher.add([1]), batcher.add([13]), batcher.add([2])]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(writes).toEqual([[1, 13, 2], [1], [13], [2]]);
  });

  it('without it, every caller of a failed group learns of the failure', async () => {
    const batcher = new WriteBatcher<number>((items) => (items.includes(13) ? Promise.reject(new Error('13 refused')) : Promise.resolve()));
    const outcomes = await Promise.allSettled([batcher.add([1]), batcher.add([13])]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  });

  it('with delayMs, callers within the delay share a write, and flush writes at once without waiting it out', async () => {
    const writes: number[][] = [];
    const batcher = new WriteBatcher<number>(
      (items) => {
        writes.push([...items]);
        return Promise.resolve();
      },
      { delayMs: 3_600_000 },
    );
    const first = batcher.add([1]);
    await new Promise((resolve) => setImmediate(resolve));
    const second = batcher.add([2]);
    expect(writes).toEqual([]);
    // An hour's delay: only flush can have written them before the test's timeout.
    await batcher.flush();
    await Promise.all([first, second]);
    expect(writes).toEqual([[1, 2]]);
  });

  it('keeps groups to maxItems, taking whole callers', async () => {
    const writes: number[][] = [];
    const batcher = new WriteBatcher<number>(
      (items) => {
        writes.push([...items]);
        return Promise.resolve();
      },
      { maxItems: 3 },
    );
    await Promise.all([batcher.add([1, 2]), batcher.add([3, 4]), batcher.add([5])]);
    expect(writes).toEqual([[1, 2], [3, 4, 5]]);
  });
});
