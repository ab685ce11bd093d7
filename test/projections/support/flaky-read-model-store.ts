import { ReadModelUnavailableError } from '../../../src/projections';
import type { ReadModelStore } from '../../../src/projections';

/**
 * Wraps a real store and makes the next commits fail after the handler has run, as a database that
 * goes away mid-batch would. A test double, because an in-memory store cannot lose its connection.
 */
export function flaky(
  store: ReadModelStore,
): ReadModelStore & { failNextCommits(count: number): void; failNextLoads(count: number): void; stats: { failures: number } } {
  let toFail = 0;
  let loadsToFail = 0;
  const stats = { failures: 0 };
  return Object.assign(Object.create(store) as ReadModelStore, {
    stats,
    failNextCommits(count: number) {
      toFail = count;
    },
    failNextLoads(count: number) {
      loadsToFail = count;
    },
    load: ((projection) => {
      if (loadsToFail > 0) {
        loadsToFail--;
        stats.failures++;
        return Promise.reject(new ReadModelUnavailableError('database unreachable (injected)'));
      }
      return store.load(projection);
    }) satisfies ReadModelStore['load'],
    commitBatch: ((layout, request, work) =>
      store.commitBatch(layout, request, async (tx) => {
        await work(tx);
        if (toFail > 0) {
          toFail--;
          stats.failures++;
          throw new ReadModelUnavailableError('connection lost (injected)');
        }
      })) satisfies ReadModelStore['commitBatch'],
  });
}
