// The package as a user gets it: `npm pack`, installed from the tarball into fresh projects outside this
// repository, one ES-module and one CommonJS project sharing one install (better-sqlite3 compiles once).
// Both type-check with TypeScript strict and skipLibCheck false, then run the README's examples with plain
// `node` against the installed package, never against src/.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURES = join(__dirname, 'fixtures');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  overrides: Record<string, string>;
};

// Installed next to the package: everything but pg and @eventstore/db-client, whose absence is tested.
const ABSENT = ['pg', '@eventstore/db-client'];
const peers = Object.fromEntries(Object.entries(manifest.peerDependencies).filter(([name]) => !ABSENT.includes(name)));
// The consumer's own tools, as its devDependencies: TypeScript and the Node types it chose.
const consumerTools = Object.fromEntries(['typescript', '@types/node'].map((name) => [name, manifest.devDependencies[name]!]));

// A program's own limit is 60 s (run()); the test allows for a loaded machine on top.
const PROGRAM_TIMEOUT_MS = 90_000;
const production = { ...process.env, NODE_ENV: 'production' };

interface Run {
  readonly code: number | null;
  readonly output: string;
  readonly stdout: string;
}

function run(command: string, args: readonly string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(command, args, { cwd, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolveRun({ code, stdout, output: `${stdout}${stderr}` });
    });
  });
}

/** The last line a program printed, as JSON: each example prints one summary line when its checks passed. */
function summary(result: Run): Record<string, unknown> {
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`no summary line (exit ${result.code}):\n${result.output}`);
  }
}

describe('the published package, installed from its tarball', () => {
  let work: string;
  let packed: { filename: string; files: { path: string }[] };
  let install: Run;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'eventfold-consumer-'));
    const pack = await run('npm', ['pack', '--json', '--pack-destination', work], ROOT, 180_000);
    expect(pack.code).toBe(0);
    packed = (JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as (typeof packed)[])[0]!;
    const consumer = {
      name: 'consumer',
      private: true,
      dependencies: { eventfold: `file:./${packed.filename}`, ...peers },
      devDependencies: consumerTools,
      // The README tells Node 20 users of eventfold/graphql to add these overrides (engines of @graphql-tools).
      overrides: manifest.overrides,
    };
    writeFileSync(join(work, 'package.json'), JSON.stringify(consumer, null, 2));
    const { NODE_ENV: _nodeEnv, ...installEnv } = process.env; // NODE_ENV=production would leave the devDependencies out
    install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], work, 600_000, installEnv);
    for (const project of ['esm', 'cjs']) {
      cpSync(join(FIXTURES, project), join(work, project), { recursive: true });
      // The README's aggregate and read model: the same files the README tests use, not copies of them.
      cpSync(join(__dirname, '..', 'support', 'readme-order.ts'), join(work, project, 'src', 'order.ts'));
      cpSync(join(__dirname, '..', 'support', 'readme-order-summary.ts'), join(work, project, 'src', 'order-summary.ts'));
    }
  }, 900_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs the built entries with their types and source maps, the README and the licence, and no tests or sources', () => {
    const files = packed.files.map((file) => file.path);
    for (const entry of ['index', 'backends/sqlite/index', 'backends/postgres/index', 'backends/eventstoredb/index', 'api/index', 'testing/index']) {
      expect(files).toEqual(expect.arrayContaining([`dist/${entry}.js`, `dist/${entry}.d.ts`, `dist/${entry}.js.map`]));
    }
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/cli/main.js']));
    // The console's page and script are plain files, served as they are (no build step).
    expect(files).toEqual(expect.arrayContaining(['console/index.html', 'console/console.js', 'console/console.css']));
    expect(files.filter((file) => !file.startsWith('dist/') && !file.startsWith('console/') && !['package.json', 'README.md', 'LICENSE'].includes(file))).toEqual([]);
    expect(files.filter((file) => /\.test\.|tsbuildinfo|^dist\/.*\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it('installs the eventfold command (bin), which runs from the package', async () => {
    const help = await run(join(work, 'node_modules', '.bin', 'eventfold'), ['--help'], work, 60_000);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: eventfold');
    const stats = await run(join(work, 'node_modules', '.bin', 'eventfold'), ['stats', '--json', '--store', `sqlite:${join(work, 'cli.db')}`], work, 60_000);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ backend: 'sqlite', streams: 0, events: 0 });
  });

  it('proves history with the installed command: verify, archive, verify --archives, and a row changed by hand exits 1', async () => {
    const bin = join(work, 'node_modules', '.bin', 'eventfold');
    const file = join(work, 'history.db');
    const url = `sqlite:${file}`;
    writeFileSync(
      join(work, 'history.cjs'),
      `const { randomUUID } = require('node:crypto');
const { connectEventStore } = require('eventfold');
(async () => {
  const store = await connectEventStore(${JSON.stringify(url)});
  for (let i = 0; i < 6; i++) await store.appendToStream('order-' + (i % 2), [{ id: randomUUID(), type: 'Noted', data: { i } }]);
  await store.close();
})().catch((error) => { console.error(error); process.exit(1); });
`,
    );
    expect((await run(process.execPath, [join(work, 'history.cjs')], work, 60_000)).code).toBe(0);
    const intact = await run(bin, ['--json', 'verify', '--store', url], work, 60_000);
    expect(intact.code).toBe(0);
    expect(JSON.parse(intact.stdout)).toMatchObject({ ok: true, eventsChecked: 6 });
    const archived = await run(bin, ['archive', '--store', url, '--out', join(work, 'archives'), '--stream', 'order-0'], work, 60_000);
    expect(archived.code).toBe(0);
    const withArchives = await run(bin, ['--json', 'verify', '--store', url, '--archives', join(work, 'archives')], work, 60_000);
    expect(JSON.parse(withArchives.stdout)).toMatchObject({ ok: true, eventsArchived: 3, archivedChecked: 3 });
    // A row edited around the kit, with the driver the package installed.
    const edit = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)});
db.prepare("UPDATE eventfold_events SET data = '{\\"i\\":99}' WHERE stream_name = 'order-1' AND revision = 1").run(); db.close();`;
    expect((await run(process.execPath, ['-e', edit], work, 60_000)).code).toBe(0);
    const broken = await run(bin, ['verify', '--store', url], work, 60_000);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('stream "order-1" revision 1');
  });

  it('installs (better-sqlite3 built by default) without engine warnings', () => {
    expect(install.code).toBe(0);
    expect(install.output).not.toMatch(/EBADENGINE/);
    expect(readFileSync(join(work, 'node_modules', 'eventfold', 'package.json'), 'utf8')).toContain('"name": "eventfold"');
  });

  it.each(['esm', 'cjs'])('type-checks the %s project (strict, skipLibCheck false, only @types/node)', async (project) => {
    const result = await run(process.execPath, [join(work, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(work, project)], work, 180_000);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 200_000);

  describe('runs the README examples with plain node (ES modules)', () => {
    const program = async (name: string): Promise<Record<string, unknown>> => {
      const data = mkdtempSync(join(tmpdir(), 'eventfold-consumer-data-'));
      try {
        const result = await run(process.execPath, [join(work, 'esm', 'dist', `${name}.js`), data], join(work, 'esm'), 60_000, production);
        expect({ code: result.code, output: result.code === 0 ? '' : result.output }).toEqual({ code: 0, output: '' });
        return summary(result);
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
    };

    it('the minimal program of the Install section (core, then eventfold/testing)', async () => {
      expect(await program('minimal')).toEqual({ program: 'minimal', revision: '0' });
    }, PROGRAM_TIMEOUT_MS);

    it('the event store: append, read, catch up on SQLite', async () => {
      expect(await program('store')).toEqual({ program: 'store', events: 1 });
    }, PROGRAM_TIMEOUT_MS);

    it('a decider and a command, idempotent on retry, with a given/when/then spec from eventfold/testing', async () => {
      expect(await program('command')).toEqual({ program: 'command', revision: '0', events: 1 });
    }, PROGRAM_TIMEOUT_MS);

    it('a projection and a reactor (verified with verifyReactor)', async () => {
      expect(await program('projection-reactor')).toEqual({ program: 'projection-reactor', status: 'shipped' });
    }, PROGRAM_TIMEOUT_MS);

    it('the GraphQL API, served on 127.0.0.1 and queried over HTTP', async () => {
      expect(await program('graphql')).toEqual({ program: 'graphql', order: { order: { status: 'placed', items: 2 } } });
    }, PROGRAM_TIMEOUT_MS);

    it('the core entry loads no driver, GraphQL or test library', async () => {
      expect(await program('core-only')).toEqual({ program: 'core-only', exports: expect.any(Number) as number, loaded: [] });
    }, PROGRAM_TIMEOUT_MS);

    it('names the missing package: pg and @eventstore/db-client are not installed', async () => {
      const outcome = await program('missing');
      expect(outcome.outcomes).toEqual({
        postgres: expect.stringContaining('npm install pg') as string,
        esdb: expect.stringContaining('npm install @eventstore/db-client') as string,
        'eventfold/postgres': expect.stringContaining('"pg"') as string,
        'eventfold/eventstoredb': expect.stringContaining('"@eventstore/db-client"') as string,
      });
    }, PROGRAM_TIMEOUT_MS);
  });

  describe('runs with plain node (CommonJS)', () => {
    it('loads every entry with require(), runs a command on SQLite and names a missing driver', async () => {
      const data = mkdtempSync(join(tmpdir(), 'eventfold-consumer-data-'));
      try {
        const result = await run(process.execPath, [join(work, 'cjs', 'dist', 'main.js'), data], join(work, 'cjs'), 60_000, production);
        expect(summary(result)).toEqual({ program: 'cjs', revision: '0' });
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
    }, PROGRAM_TIMEOUT_MS);

    it('the core entry loads no driver, GraphQL or test library', async () => {
      const result = await run(process.execPath, [join(work, 'cjs', 'dist', 'core-only.js')], join(work, 'cjs'), 60_000, production);
      expect(summary(result)).toEqual({ program: 'core-only', exports: expect.any(Number) as number, loaded: [] });
    }, PROGRAM_TIMEOUT_MS);
  });
});
