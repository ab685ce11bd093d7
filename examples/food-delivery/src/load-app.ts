// Loads the app for `npm start` (entry.ts: the app, its logger and telemetry). The build (`npm run
// build:example`) compiles it with tsc and bundles dist/entry.js into dist/app.bundle.js
// (scripts/bundle-example.mjs). Starting from the bundle with a
// V8 code cache roughly halves the CPU a start costs (see the README's "Production" notes). Under the
// TypeScript loader (`npm run dev`) or when the bundle is missing or older than tsc's last build, it is
// plain require('./entry').
import { isAscii } from 'node:buffer';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

type AppModule = typeof import('./entry');

/** The loaded app, and a way to save the code cache once the app serves (compiled functions included). */
export interface LoadedApp {
  readonly app: AppModule;
  /** Writes the V8 code cache beside the bundle if it was missing or stale; best effort, never throws. */
  readonly saveCodeCache: () => void;
  /** Loaded from the bundle (else from entry.js, module by module). */
  readonly bundled: boolean;
  /** V8 accepted the code cache, so the bundle was not compiled. */
  readonly cacheUsed: boolean;
}

/** Loads the app from `directory` (the folder of this file by default). */
export function loadApp(directory: string = __dirname): LoadedApp {
  const bundle = join(directory, 'app.bundle.js');
  // tsc -b rewrites only the files that changed, but always its build info: a bundle older than that
  // (a tsc-only rebuild) is stale. Without build info, compare with the entry itself.
  if (!isFresh(bundle, [join(directory, 'build.tsbuildinfo'), join(directory, 'entry.js')])) {
    // The module next to this one: entry.js when compiled, entry.ts under the TypeScript loader.
    const app = createRequire(join(directory, 'load-app.js'))('./entry') as AppModule;
    return { app, saveCodeCache: () => {}, bundled: false, cacheUsed: false };
  }
  // The build writes an ASCII bundle (scripts/bundle-example.mjs): read as Latin-1 it is a one-byte
  // string, made at a fraction of the CPU of decoding UTF-8. Any other bundle is decoded as UTF-8.
  const bytes = readFileSync(bundle);
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  // V8 checks a cache against the source's length only, so the cache is keyed on the bundle's build id
  // (a fresh random id in its first line at every build): a cache from another build is never used.
  const buildId = /^\/\/ eventfold-build ([0-9a-f-]{36})\n/.exec(source)?.[1];
  const cacheFile = `${bundle}.v8cache`;
  const cachedData = buildId === undefined ? undefined : readCache(cacheFile, buildId);
  // V8 also rejects a cache made by another V8 version or with other flags; it then compiles as usual.
  const script = new Script(Module.wrap(source), { filename: bundle, cachedData });
  const loaded = new Module(bundle);
  loaded.filename = bundle;
  loaded.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(bundle));
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(loaded.exports, loaded.exports, createRequire(bundle), loaded, bundle, dirname(bundle));
  const cacheUsed = cachedData !== undefined && script.cachedDataRejected === false;
  return {
    app: loaded.exports as AppModule,
    bundled: true,
    cacheUsed,
    saveCodeCache: () => {
      if (cacheUsed || buildId === undefined) return;
      try {
        // Written whole and renamed, so a concurrent start never reads half a cache.
        const temporary = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(temporary, Buffer.concat([Buffer.from(`${buildId}\n`), script.createCachedData()]));
        renameSync(temporary, cacheFile);
      } catch {
        // A read-only install keeps working, only without the cache.
      }
    },
  };
}

/** The V8 data of a cache file written for `buildId`, else undefined. */
function readCache(file: string, buildId: string): Buffer | undefined {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch {
    return undefined;
  }
  const header = Buffer.from(`${buildId}\n`);
  return content.subarray(0, header.length).equals(header) ? content.subarray(header.length) : undefined;
}

/** The bundle exists and is not older than any of `sources` that exist (at least one must). */
function isFresh(bundle: string, sources: readonly string[]): boolean {
  let built: number;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  const times = sources.flatMap((source) => {
    try {
      return [statSync(source).mtimeMs];
    } catch {
      return [];
    }
  });
  return times.length > 0 && times.every((time) => built >= time);
}
