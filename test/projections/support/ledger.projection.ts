import { defineCollection, defineProjection } from '../../../src/projections';

export interface Account {
  accountId: string;
  balance: number;
  deposits: number;
}

/**
 * A deliberately non-idempotent projection: every event adds to a balance and inserts a row into a
 * table without a unique key. Applying any event twice, or losing one, shows in the totals.
 */
export function ledgerProjection(options: { batchSize?: number; onEvent?: (eventId: string) => Promise<void> | void } = {}) {
  return defineProjection({
    name: 'ledger',
    version: 1,
    eventTypes: ['Deposited'],
    batchSize: options.batchSize,
    documentKeys: { accounts: (event) => (event.data as { accountId: string }).accountId },
    collections: { accounts: defineCollection<Account>({ indexes: { balance: 'number' } }) },
    tables: {
      applied: {
        create: (table, dialect) => [
          `CREATE TABLE ${table} (event_id TEXT NOT NULL, account_id TEXT NOT NULL, amount ${dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'} NOT NULL)`,
        ],
      },
    },
    async handle(events, tx) {
      const accounts = tx.documents('accounts');
      for (const event of events) {
        const { accountId, amount } = event.data as { accountId: string; amount: number };
        const account = (await accounts.get(accountId)) ?? { accountId, balance: 0, deposits: 0 };
        accounts.put(accountId, { accountId, balance: account.balance + amount, deposits: account.deposits + 1 });
        const placeholders = tx.dialect === 'postgres' ? '$1, $2, $3' : '?, ?, ?';
        await tx.execute(`INSERT INTO ${tx.table('applied')} (event_id, account_id, amount) VALUES (${placeholders})`, [
          event.id,
          accountId,
          amount,
        ]);
        await options.onEvent?.(event.id);
      }
    },
  });
}
