import { testDatabase } from '../../../test/support/postgres';
import { tempDataDir } from './support/app-process';
import { foodDeliverySuite } from './support/food-delivery-suite';

// The same app, unchanged, on PostgreSQL: only EVENTFOLD_STORE differs.
foodDeliverySuite('PostgreSQL', {
  create: async () => {
    const database = await testDatabase('food_delivery');
    const dir = tempDataDir();
    return {
      store: database.url,
      dataDir: dir.path,
      dispose: async () => {
        dir.remove();
        await database.drop();
      },
    };
  },
});
