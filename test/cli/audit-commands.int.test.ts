import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pg from 'pg';
import type { CliContext } from '../../src/cli/cli-context';
import { runCli } from '../../src/cli/program';
import { connectEventStore } from '../../src/event-store';
import { testDatabase } from '../support/postgres';
import { writeHistory } from '../event-store/tamper-scenarios';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
const folder = mkdtempSync(join(tmpdir(), 'eventfold-audit-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

class Captured extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/** The CLI in this process, with its own output streams. */
async function cli(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; tty?: boolean } = {}) {
  const stdout = new Captured(false);
  const stderr = new Captured(options.tty ?? false);
  const context: CliContext = { stdout, stderr, env: options.env ?? {}, json: false, signal: new AbortController().signal };
  const code = await runCli(argv, context);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function sqliteStoreWithHistory(): Promise<{ file: string; url: string }> {
  const file = join(folder, `store-${files++}.db`);
  const store = await connectEventStore(`sqlite:${file}`);
  await writeHistory(store);
  await store.close();
  return { file, url: `sqlite:${file}` };
}

function tamperSqlite(file: string, statement: string): void {
  const db = new Database(file);
  db.exec(statement);
  db.close();
}

describe('eventfold verify', () => {
  it('exits 0 on an intact store, with progress on standard error and the head to keep', async () => {
    const { url } = await sqliteStoreWithHistory();
    const result = await cli(['verify', '--store', url]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/^intact: 8 events, 5 batches, 4 streams checked\nhead: 5:[0-9a-f]{64}/);
    expect(result.stderr).toMatch(/verified 8\/8 events \(100%\)/);
  });

  it('draws a progress bar when standard error is a terminal', async () => {
    const { url } = await sqliteStoreWithHistory();
    const result = await cli(['verify', '--store', url], { tty: true });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/verifying .*8\/8 events/);
  });

  it('exits 1 naming the stream and revision where the chain breaks, in text and JSON', async () => {
    const { file, url } = await sqliteStoreWithHistory();
    tamperSqlite(file, `UPDATE eventfold_events SET data = '{"total":999}' WHERE stream_name = 'order-1' AND revision = 0`);
    const text = await cli(['verify', '--store', url]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^BROKEN: 1 break\(s\)/);
    expect(text.stdout).toContain('stream "order-1" revision 0');
    const json = await cli(['--json', 'verify', '--store', url]);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; breaks: Array<{ kind: string; streamName: string; revision: string }> };
    expect(report.ok).toBe(false);
    expect(report.breaks).toEqual([expect.objectContaining({ kind: 'event-altered', streamName: 'order-1', revision: '0' })]);
  });

  it('reads EVENTFOLD_STORE when --store is not given, checks named streams, and holds the log to a kept head', async () => {
    const { file, url } = await sqliteStoreWithHistory();
    const intact = await cli(['--json', 'verify'], { env: { EVENTFOLD_STORE: url } });
    expect(intact.code).toBe(0);
    const head = (JSON.parse(intact.stdout) as { head: { batch: string; hash: string } }).head;
    expect((await cli(['verify', '--stream', 'order-1', '--stream', 'cart-1'], { env: { EVENTFOLD_STORE: url } })).stdout).toMatch(/^intact: 5 events/);
    tamperSqlite(file, `DELETE FROM eventfold_events WHERE stream_name = 'order-3'; DELETE FROM eventfold_streams WHERE stream_name = 'order-3';
      DELETE FROM eventfold_chain WHERE batch = 5`);
    expect((await cli(['verify', '--store', url])).code).toBe(0);
    const cut = await cli(['verify', '--store', url, '--expect-head', `${head.batch}:${head.hash}`]);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toContain('the log was cut back');
  });

  it('exits 2 on usage errors: no store, a malformed head, an unknown kind of store', async () => {
    expect((await cli(['verify'])).code).toBe(2);
    expect((await cli(['verify', '--store', 'memory:', '--expect-head', 'nope'])).code).toBe(2);
    expect((await cli(['verify', '--store', 'ftp://x'])).code).toBe(2);
  });

  it('exits 1 on PostgreSQL when a row was edited in the database, 0 before', async () => {
    const database = await testDatabase('audit_cli');
    try {
      const store = await connectEventStore(database.url);
      await writeHistory(store);
      await store.close();
      expect((await cli(['verify', '--store', database.url])).code).toBe(0);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query(`UPDATE eventfold_events SET type = 'OrderRefunded' WHERE stream_name = 'order-1' AND revision = 2`);
      await client.end();
      const broken = await cli(['verify', '--store', database.url]);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain('stream "order-1" revision 2');
    } finally {
      await database.drop();
    }
  });

  it('runs as a real process (`npm run eventfold -- verify`): exit 0 intact, 1 tampered', async () => {
    const { file, url } = await sqliteStoreWithHistory();
    const eventfold = (args: string[]) =>
      run(process.execPath, ['-r', '@swc-node/register', 'src/cli/main.ts', ...args], { cwd: root, env: { ...process.env, EVENTFOLD_STORE: url } }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    expect(await eventfold(['verify'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^intact/) });
    tamperSqlite(file, `DELETE FROM eventfold_events WHERE stream_name = 'order-1' AND revision = 1`);
    const broken = await eventfold(['verify']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('revision 1 is missing');
  }, 60_000);
});

describe('eventfold audit export / check', () => {
  it('exports a stream with its proof that checks without the database; a tampered file fails', async () => {
    const { file: storeFile, url } = await sqliteStoreWithHistory();
    const proof = join(folder, `order-1-${files++}.ndjson`);
    const exported = await cli(['audit', 'export', 'order-1', '--store', url, '--out', proof]);
    expect(exported).toMatchObject({ code: 0, stdout: `exported 3 events of "order-1" to ${proof}\n` });
    rmSync(storeFile);
    const checked = await cli(['audit', 'check', proof]);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/^proof holds: stream "order-1", 3 events in 2 batches; store head at export 5:[0-9a-f]{64}/);

    const lines = readFileSync(proof, 'utf8').trimEnd().split('\n');
    const edited = join(folder, 'edited.ndjson');
    writeFileSync(edited, lines.map((line) => line.replace('"{\\"by\\":\\"card\\"}"', '"{\\"by\\":\\"cash\\"}"')).join('\n'));
    const editedCheck = await cli(['audit', 'check', edited]);
    expect(editedCheck.code).toBe(1);
    expect(editedCheck.stdout).toContain('stream "order-1" revision 1 does not match its hash');

    const dropped = join(folder, 'dropped.ndjson');
    writeFileSync(dropped, lines.filter((line) => !line.includes('"revision":"2"')).join('\n'));
    const droppedCheck = await cli(['--json', 'audit', 'check', dropped]);
    expect(droppedCheck.code).toBe(1);
    expect((JSON.parse(droppedCheck.stdout) as { breaks: Array<{ kind: string }> }).breaks.map((found) => found.kind)).toContain('event-missing');

    writeFileSync(edited, 'not json\n');
    expect((await cli(['audit', 'check', edited])).code).toBe(1);
    expect((await cli(['audit', 'check', join(folder, 'missing.ndjson')])).code).toBe(2);
  });

  it('writes the proof to standard output without --out', async () => {
    const { url } = await sqliteStoreWithHistory();
    const result = await cli(['audit', 'export', 'cart-1', '--store', url]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { kind: string });
    expect(lines.map((line) => line.kind)).toEqual(['header', 'event', 'event', 'batch']);
  });
});
