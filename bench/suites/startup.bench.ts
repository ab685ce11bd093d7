import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchContext } from '../harness';

/**
 * Restart-to-serving of the reference app as `npm start` runs it (`node examples/food-delivery/dist/main.js`
 * on embedded SQLite with existing data): milliseconds from spawning node to the first answered GraphQL
 * query. Three builds side by side, alternating in each round so the shared machine's noise hits all alike:
 * - `plain`: tsc's output, over a thousand modules resolved and compiled at every start;
 * - `bundle`: one esbuild file (scripts/bundle-example.mjs), compiled at start;
 * - `bundle+cache`: the bundle with its V8 code cache (what `npm start` runs after its first start).
 * Also reports the CPU a start costs (user + system of the child), which noise affects less than wall time.
 */
const DIST = resolve(__dirname, '..', '..', 'examples', 'food-delivery', 'dist');
const BUNDLE = join(DIST, 'app.bundle.js');
const CACHE = `${BUNDLE}.v8cache`;
const BUILD_INFO = join(DIST, 'build.tsbuildinfo');

type Variant = 'plain' | 'bundle' | 'bundle+cache';

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode === 200));
      },
    );
    req.on('error', () => done(false));
    req.end('{"query":"{ __typename }"}');
  });
}

/** Starts the app once; resolves with ms to the first answered query and the child's CPU ms. */
async function startOnce(dataDir: string): Promise<{ servingMs: number; cpuMs: number }> {
  const [port, paymentPort] = [await freePort(), await freePort()];
  const startedAt = performance.now();
  // A preload in the child prints its CPU use on SIGUSR2, sent once it serves.
  const child = spawn(process.execPath, ['-r', join(__dirname, 'startup-cpu-probe.js'), join(DIST, 'main.js')], {
    env: { ...process.env, PORT: String(port), PAYMENT_PORT: String(paymentPort), EVENTFOLD_STORE: `sqlite:${join(dataDir, 'e.db')}`, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const deadline = Date.now() + 60_000;
  // Bounded: a start that takes a minute is a failure, not a figure.
  while (!(await answers(port))) {
    if (child.exitCode !== null) throw new Error(`the app exited before serving:\n${out}`);
    if (Date.now() > deadline) throw new Error('the app did not serve within 60 s');
    await new Promise((wake) => setImmediate(wake));
  }
  const servingMs = performance.now() - startedAt;
  // The probe prints the CPU used up to SIGUSR2, i.e. up to now (serving), then the app is stopped.
  child.kill('SIGUSR2');
  while (!/startup-cpu-ms=/.test(out) && child.exitCode === null) await new Promise((wake) => child.stdout.once('data', wake));
  child.kill('SIGTERM');
  await exited;
  const cpuMs = Number(/startup-cpu-ms=([\d.]+)/.exec(out)?.[1] ?? NaN);
  return { servingMs, cpuMs };
}

function arrange(variant: Variant, cacheAside: string): void {
  const appTime = statSync(BUILD_INFO).mtime;
  // load-app.ts uses the bundle only when it is not older than tsc's last build.
  const bundleTime = variant === 'plain' ? new Date(appTime.getTime() - 60_000) : new Date(appTime.getTime() + 1_000);
  utimesSync(BUNDLE, bundleTime, bundleTime);
  if (variant === 'bundle+cache' && !existsSync(CACHE) && existsSync(cacheAside)) renameSync(cacheAside, CACHE);
  if (variant !== 'bundle+cache' && existsSync(CACHE)) renameSync(CACHE, cacheAside);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const p90 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.9) - 1] ?? NaN;

export async function run(context: BenchContext): Promise<void> {
  if (!existsSync(BUNDLE)) throw new Error('examples/food-delivery/dist/app.bundle.js is missing: run `npm run build:example`');
  const rounds = context.quick ? 3 : 9;
  const dataDir = mkdtempSync(join(tmpdir(), 'eventfold-startup-'));
  const cacheAside = join(dataDir, 'v8cache-aside');
  const variants: Variant[] = ['plain', 'bundle', 'bundle+cache'];
  const figures = new Map<Variant, { serving: number[]; cpu: number[] }>(variants.map((v) => [v, { serving: [], cpu: [] }]));
  try {
    // A first start creates the database and the code cache (saved once the app serves).
    arrange('bundle+cache', cacheAside);
    await startOnce(dataDir);
    if (!existsSync(CACHE)) throw new Error('the first start did not write the code cache');
    context.progress(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    for (let round = 0; round < rounds; round += 1) {
      for (const variant of variants) {
        arrange(variant, cacheAside);
        const { servingMs, cpuMs } = await startOnce(dataDir);
        figures.get(variant)!.serving.push(servingMs);
        figures.get(variant)!.cpu.push(cpuMs);
      }
    }
    context.progress(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    arrange('bundle+cache', cacheAside);
    utimesSync(BUNDLE, new Date(), new Date());
    rmSync(dataDir, { recursive: true, force: true });
  }
  for (const variant of variants) {
    const { serving, cpu } = figures.get(variant)!;
    context.record({ backend: variant, metric: 'restart_to_serving_p50', value: median(serving), unit: 'ms' });
    context.record({ backend: variant, metric: 'restart_to_serving_p90', value: p90(serving), unit: 'ms' });
    context.record({ backend: variant, metric: 'startup_cpu_p50', value: median(cpu), unit: 'ms' });
  }
  const plain = median(figures.get('plain')!.serving);
  context.record({ backend: 'bundle+cache', metric: 'ratio_plain_restart_to_serving', value: median(figures.get('bundle+cache')!.serving) / plain, unit: '×' });
}
