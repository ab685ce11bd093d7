// How `npm start` loads the app (src/load-app.ts): from the bundle with a V8 code cache when the bundle is
// current, else module by module from entry.js. Real files in a temp folder, loaded by Node's own loader.
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Module from 'node:module';
import { Script } from 'node:vm';
import { loadApp } from '../src/load-app';

/** A bundle as scripts/bundle-example.mjs writes it: a build id in its first line. */
const bundleSource = (body: string, buildId: string = randomUUID()): string => `// eventfold-build ${buildId}\n${body}`;

describe('loadApp', () => {
  let dir: string;
  const at = (file: string, seconds: number): void => utimesSync(join(dir, file), seconds, seconds);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'load-app-'));
    writeFileSync(join(dir, 'entry.js'), "exports.which = 'entry.js';\n");
    writeFileSync(join(dir, 'helper.js'), "exports.name = 'helper beside the bundle';\n");
    // A bundle's require and __dirname are its own folder's, as for a module Node loads itself.
    writeFileSync(
      join(dir, 'app.bundle.js'),
      bundleSource("exports.which = 'bundle'; exports.dir = __dirname; exports.helper = require('./helper.js').name; exports.self = module.filename;\n"),
    );
    at('entry.js', 1_000_000);
    at('app.bundle.js', 1_000_100);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the bundle when it is current, with its own require, __dirname and filename', () => {
    const loaded = loadApp(dir);
    expect(loaded.bundled).toBe(true);
    expect(loaded.app as unknown).toEqual({ which: 'bundle', dir, helper: 'helper beside the bundle', self: join(dir, 'app.bundle.js') });
  });

  it('reads an ASCII bundle as Latin-1 and any other as UTF-8, so text survives either way', () => {
    writeFileSync(join(dir, 'app.bundle.js'), bundleSource("exports.which = 'b\\u00fcndle';\n"));
    at('app.bundle.js', 1_000_100);
    expect(loadApp(dir).app as unknown).toEqual({ which: 'bündle' });
    writeFileSync(join(dir, 'app.bundle.js'), bundleSource("exports.which = 'bündle';\n"));
    at('app.bundle.js', 1_000_100);
    expect(loadApp(dir).app as unknown).toEqual({ which: 'bündle' });
  });

  it('falls back to entry.js when the bundle is missing or older than entry.js (a tsc-only rebuild)', () => {
    at('app.bundle.js', 999_000);
    expect(loadApp(dir)).toMatchObject({ bundled: false, app: { which: 'entry.js' } });
    rmSync(join(dir, 'app.bundle.js'));
    expect(loadApp(dir)).toMatchObject({ bundled: false, app: { which: 'entry.js' } });
  });

  it("falls back when tsc rebuilt other files since the bundle (its build info is newer), though entry.js is not", () => {
    writeFileSync(join(dir, 'build.tsbuildinfo'), '{}');
    at('build.tsbuildinfo', 1_000_200);
    expect(loadApp(dir)).toMatchObject({ bundled: false, app: { which: 'entry.js' } });
    at('app.bundle.js', 1_000_300);
    expect(loadApp(dir)).toMatchObject({ bundled: true, app: { which: 'bundle' } });
  });

  it('saves a code cache once, and the next start uses it instead of compiling', () => {
    const first = loadApp(dir);
    expect(first.cacheUsed).toBe(false);
    first.saveCodeCache();
    const cache = join(dir, 'app.bundle.js.v8cache');
    expect(existsSync(cache)).toBe(true);
    const second = loadApp(dir);
    expect(second).toMatchObject({ bundled: true, cacheUsed: true, app: { which: 'bundle' } });
    const written = readFileSync(cache);
    second.saveCodeCache(); // a cache in use is not rewritten
    expect(readFileSync(cache).equals(written)).toBe(true);
  });

  it('a corrupt or foreign cache is rejected by V8: the bundle still loads, and the cache is rewritten', () => {
    const cache = join(dir, 'app.bundle.js.v8cache');
    writeFileSync(cache, Buffer.from('not a V8 code cache at all'));
    const loaded = loadApp(dir);
    expect(loaded).toMatchObject({ bundled: true, cacheUsed: false, app: { which: 'bundle' } });
    loaded.saveCodeCache();
    expect(loadApp(dir).cacheUsed).toBe(true);
  });

  it('a cache from another build is never used, even for a bundle of the same length', () => {
    const body = "exports.which = 'build A';\n";
    const [OLD_ID, NEW_ID] = [randomUUID(), randomUUID()];
    writeFileSync(join(dir, 'app.bundle.js'), bundleSource(body, OLD_ID));
    loadApp(dir).saveCodeCache();
    expect(loadApp(dir).cacheUsed).toBe(true);
    // Same length, other code. V8 alone accepts the old cache (it checks the length, not the text)…
    const rebuilt = bundleSource(body.replace('A', 'B'), NEW_ID);
    const v8Data = readFileSync(join(dir, 'app.bundle.js.v8cache')).subarray(OLD_ID.length + 1);
    const unguarded = new Script(Module.wrap(rebuilt), { filename: join(dir, 'app.bundle.js'), cachedData: v8Data });
    expect(unguarded.cachedDataRejected).toBe(false);
    // …the build id does not.
    writeFileSync(join(dir, 'app.bundle.js'), rebuilt);
    at('app.bundle.js', 1_000_200);
    expect(loadApp(dir)).toMatchObject({ bundled: true, cacheUsed: false, app: { which: 'build B' } });
  });

  it('a bundle without a build id loads but is never cached', () => {
    writeFileSync(join(dir, 'app.bundle.js'), "exports.which = 'hand-made bundle';\n");
    at('app.bundle.js', 1_000_200);
    const loaded = loadApp(dir);
    loaded.saveCodeCache();
    expect(loaded).toMatchObject({ bundled: true, cacheUsed: false, app: { which: 'hand-made bundle' } });
    expect(existsSync(join(dir, 'app.bundle.js.v8cache'))).toBe(false);
  });
});
