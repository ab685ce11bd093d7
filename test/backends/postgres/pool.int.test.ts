import pg, { Client, type Pool } from 'pg';
import { createPool, withClient, withTransaction } from '../../../src/backends/postgres/pool';
import { testDatabase } from '../../support/postgres';

class ConnectionBroke extends Error {}

describe('PostgreSQL pool helpers (real server)', () => {
  let database: { url: string; drop(): Promise<void> };
  let pool: Pool;
  let admin: Client;

  beforeAll(async () => {
    database = await testDatabase('eventfold_pool');
    // One connection: whatever the pool hands out next is the connection the last caller gave back.
    pool = createPool(database.url, 1);
    admin = new Client({ connectionString: database.url });
    await admin.connect();
    await admin.query('CREATE TABLE items (id int PRIMARY KEY)');
  });

  afterAll(async () => {
    await pool.end();
    await admin.end();
    await database.drop();
  });

  const backendPid = async (): Promise<number> => (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

  it('destroys a connection terminated inside a transaction, reports it as broken, and the next caller gets a new one', async () => {
    let terminatedPid = 0;
    const transaction = withTransaction(
      pool,
      async (client) => {
        await client.query('INSERT INTO items VALUES (1)');
        terminatedPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await admin.query('SELECT pg_terminate_backend($1)', [terminatedPid]);
        await client.query('INSERT INTO items VALUES (2)');
      },
      { brokenConnection: (error) => new ConnectionBroke(String(error)) },
    );
    await expect(transaction).rejects.toBeInstanceOf(ConnectionBroke);
    const next = await backendPid();
    expect(next).not.toBe(terminatedPid);
    expect(pool.totalCount).toBe(1);
    expect((await admin.query('SELECT count(*)::int AS n FROM items')).rows[0]).toEqual({ n: 0 });
  });

  it('destroys a connection that is still open but cannot roll back (a query it gave up on still runs), instead of reusing it', async () => {
    // pg-pool itself drops a client whose socket closed; this one stays open and would be handed on
    // with the abandoned query and the rollback still queued in front of the next caller's statements.
    const impatient = new pg.Pool({ connectionString: database.url, max: 1, query_timeout: 300 });
    impatient.on('error', () => undefined);
    try {
      let stuckPid = 0;
      const transaction = withTransaction(impatient, async (client) => {
        stuckPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await client.query('SELECT pg_sleep(3)');
      });
      await expect(transaction).rejects.toThrow(/timeout/i);
      const next = (await impatient.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(next).not.toBe(stuckPid);
    } finally {
      await impatient.end();
    }
  });

  it('rolls back failed work on a healthy connection, keeps that connection, and commits the next transaction', async () => {
    const before = await backendPid();
    const refused = withTransaction(pool, async (client) => {
      await client.query('INSERT INTO items VALUES (3)');
      throw new Error('refused by the work');
    }, { brokenConnection: (error) => new ConnectionBroke(String(error)) });
    // The work's own error, not a broken connection: the connection is fine.
    await expect(refused).rejects.toThrow('refused by the work');
    await withTransaction(pool, async (client) => {
      await client.query('INSERT INTO items VALUES (4)');
    });
    expect(await backendPid()).toBe(before);
    expect((await admin.query('SELECT array_agg(id)::int[] AS ids FROM items')).rows[0]).toEqual({ ids: [4] });
  });

  it('withClient rolls back a transaction the work opened and left open when it failed', async () => {
    const failed = withClient(pool, async (client, session) => {
      await client.query('BEGIN');
      session.inTransaction = true;
      await client.query('INSERT INTO items VALUES (5)');
      throw new Error('work failed');
    });
    await expect(failed).rejects.toThrow('work failed');
    // Had the transaction stayed open, this statement would run inside it and see row 5.
    expect((await pool.query<{ open: boolean }>("SELECT now() = statement_timestamp() AS open")).rows[0]).toEqual({ open: true });
    expect((await admin.query('SELECT count(*)::int AS n FROM items WHERE id = 5')).rows[0]).toEqual({ n: 0 });
  });

  it('names a pool that cannot connect with the caller’s error', async () => {
    const unreachable = createPool('postgres://postgres:wrong@127.0.0.1:1/postgres', 1);
    try {
      await expect(withClient(unreachable, () => Promise.resolve(1), { cannotConnect: () => new ConnectionBroke('no connection') })).rejects.toThrow(
        ConnectionBroke,
      );
    } finally {
      await unreachable.end();
    }
  });
});
