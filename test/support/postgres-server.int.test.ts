import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { Client } from 'pg';
import { PostgresStartError, startPostgres } from './postgres-server';

// initdb alone takes seconds on a busy machine.
jest.setTimeout(60_000);

// The throwaway server of the test harness: it fails with a message that says what to do, and leaves
// nothing behind. (That it starts at all, as root from a clone in a 0700 folder too, is what every
// integration suite's global setup proves.)
describe('startPostgres', () => {
  it('rejects with a PostgresStartError naming the missing binaries and PG_URL, not an unhandled error', async () => {
    const start = startPostgres({ installDir: '/nonexistent/eventfold-postgres' });
    await expect(start).rejects.toBeInstanceOf(PostgresStartError);
    await expect(start).rejects.toThrow(/\/nonexistent\/eventfold-postgres[\s\S]*Fix: [\s\S]*PG_URL=/);
  });

  it('rejects with a PostgresStartError, not an unhandled spawn error, when initdb cannot be executed (EACCES)', async () => {
    const build = await mkdtemp(join(tmpdir(), 'eventfold-bogus-pg-'));
    try {
      await mkdir(join(build, 'bin'));
      await writeFile(join(build, 'bin', 'initdb'), 'not a program', { mode: 0o644 });
      await writeFile(join(build, 'bin', 'postgres'), 'not a program', { mode: 0o644 });
      const start = startPostgres({ installDir: build });
      await expect(start).rejects.toMatchObject({ name: 'PostgresStartError', step: 'initdb' });
      await expect(start).rejects.toThrow(/initdb[\s\S]*EACCES[\s\S]*not executable by[\s\S]*PG_URL=/);
    } finally {
      await rm(build, { recursive: true, force: true });
    }
  });

  it('rejects with the server log when its port is taken', async () => {
    const holder = await holdPort();
    try {
      const port = (holder.address() as { port: number }).port;
      const start = startPostgres({ durable: false, port });
      await expect(start).rejects.toMatchObject({ name: 'PostgresStartError', step: 'start' });
      await expect(start).rejects.toThrow(new RegExp(`port ${port}[\\s\\S]*could not bind`));
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('serves on loopback from a temp data folder that stop() removes', async () => {
    const server = await startPostgres({ durable: false });
    const client = new Client({ connectionString: server.url });
    let dataDir: string;
    try {
      await client.connect();
      const settings = await client.query<{ data: string; listen: string; user: string }>(
        "SELECT current_setting('data_directory') AS data, current_setting('listen_addresses') AS listen, current_user AS user",
      );
      dataDir = settings.rows[0]!.data;
      expect(settings.rows[0]).toMatchObject({ listen: '127.0.0.1', user: 'postgres' });
      expect(existsSync(dataDir)).toBe(true);
    } finally {
      await client.end();
      await server.stop();
    }
    expect(existsSync(dataDir)).toBe(false);
  });
});

function holdPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
