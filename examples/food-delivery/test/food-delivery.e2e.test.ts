import { tempDataDir } from './support/app-process';
import { foodDeliverySuite } from './support/food-delivery-suite';

// The default: the embedded SQLite store, as `npm start` runs it, in a temp data folder.
foodDeliverySuite('SQLite', {
  create: () => {
    const dir = tempDataDir();
    return Promise.resolve({ store: undefined, dataDir: dir.path, dispose: () => Promise.resolve(dir.remove()) });
  },
});
