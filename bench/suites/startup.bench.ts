import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchContext } from '../harness';

/**
 * Restart-to-serving of the reference app as `npm start` runs it (`node examples/food-delivery/dist/main.js`
 * on embedded SQLite with existing data, an order placed by a first start): milliseconds from spawning node
 * to the first answered GraphQL query that reads that order back over HTTP. Three builds side by side,
 * alternating in each round so the shared machine's noise hits all alike:
 * - `plain`: tsc's output, over a thousand modules resolved and compiled at every start;
 * - `bundle`: one esbuild file (scripts/bundle-example.mjs), compiled at start;
 * - `bundle+cache`: the bundle with its V8 code cache (what `npm start` runs after its first start);
 * - `baseline`, when `STARTUP_BASELINE_DIST` names another build's examples/food-delivery/dist (say, of a
 *   checkout of main): that build as `npm start` runs it, for before/after figures from one run.
 * Also reports the CPU a start costs (user + system of the child), which noise affects less than wall time.
 */
const DIST = resolve(__dirname, '..', '..', 'examples', 'food-delivery', 'dist');
const BUNDLE = join(DIST, 'app.bundle.js');
const CACHE = `${BUNDLE}.v8cache`;
const BUILD_INFO = join(DIST, 'build.tsbuildinfo');

const BASELINE = process.env.STARTUP_BASELINE_DIST ? resolve(process.env.STARTUP_BASELINE_DIST) : undefined;

type Variant = 'plain' | 'bundle' | 'bundle+cache' | 'baseline';

/** The query each start must answer: it reads the orders read model, which holds the order placed at setup. */
const ORDERS_QUERY = JSON.stringify({ query: '{ orders(first: 5) { totalCount nodes { id status } } }' });

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

/** POSTs a GraphQL request; resolves with the parsed body of a 200 answer, else undefined (not serving yet). */
function post(port: number, body: string): Promise<{ data?: Record<string, unknown>; errors?: unknown[] } | undefined> {
  return new Promise((done) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done(res.statusCode === 200 ? (JSON.parse(text) as { data?: Record<string, unknown> }) : undefined));
      },
    );
    req.on('error', () => done(undefined));
    req.end(body);
  });
}

/** How many orders the app answers with; undefined while it does not serve. A GraphQL error is a failure. */
async function ordersServed(port: number): Promise<number | undefined> {
  const answer = await post(port, ORDERS_QUERY);
  if (answer === undefined) return undefined;
  if (answer.errors) throw new Error(`the orders query failed: ${JSON.stringify(answer.errors)}`);
  const orders = answer.data?.orders as { totalCount: number; nodes: unknown[] } | undefined;
  return orders?.nodes.length;
}

/** Places one order through the API and waits until the orders read model shows it. */
async function placeOrder(port: number): Promise<void> {
  const placed = await post(
    port,
    JSON.stringify({
      query: 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { revision } }',
      variables: {
        input: { orderId: randomUUID(), customerId: 'startup-bench', customerName: 'Ada', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }] },
      },
    }),
  );
  if (placed?.data?.placeOrder === undefined) throw new Error(`placeOrder failed: ${JSON.stringify(placed)}`);
  const deadline = Date.now() + 30_000;
  while (((await ordersServed(port)) ?? 0) === 0) {
    if (Date.now() > deadline) throw new Error('the placed order did not reach the orders read model within 30 s');
    await new Promise((wake) => setImmediate(wake));
  }
}

/**
 * Starts the app once; resolves with ms to the first query answered with the stored order, and the
 * child's CPU ms. `seed` places that order first (the setup start).
 */
async function startOnce(dataDir: string, dist: string, seed = false): Promise<{ servingMs: number; cpuMs: number }> {
  const [port, paymentPort] = [await freePort(), await freePort()];
  const startedAt = performance.now();
  // A preload in the child prints its CPU use on SIGUSR2, sent once it serves.
  const child = spawn(process.execPath, ['-r', join(__dirname, 'startup-cpu-probe.js'), join(dist, 'main.js')], {
    env: { ...process.env, PORT: String(port), PAYMENT_PORT: String(paymentPort), EVENTFOLD_STORE: `sqlite:${join(dataDir, 'e.db')}`, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const deadline = Date.now() + 60_000;
  // Bounded: a start that takes a minute is a failure, not a figure.
  let served: number | undefined;
  while ((served = await ordersServed(port)) === undefined) {
    if (child.exitCode !== null) throw new Error(`the app exited before serving:\n${out}`);
    if (Date.now() > deadline) throw new Error('the app did not serve within 60 s');
    await new Promise((wake) => setImmediate(wake));
  }
  const servingMs = performance.now() - startedAt;
  if (seed) await placeOrder(port);
  else if (served === 0) throw new Error('the app served, but without the order placed at setup');
  // The probe prints the CPU used up to SIGUSR2, i.e. up to now (serving), then the app is stopped.
  child.kill('SIGUSR2');
  while (!/startup-cpu-ms=/.test(out) && child.exitCode === null) await new Promise((wake) => child.stdout.once('data', wake));
  child.kill('SIGTERM');
  await exited;
  const cpuMs = Number(/startup-cpu-ms=([\d.]+)/.exec(out)?.[1] ?? NaN);
  return { servingMs, cpuMs };
}

function arrange(variant: Variant, cacheAside: string): void {
  if (variant === 'baseline') return;
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
  const variants: Variant[] = ['plain', 'bundle', 'bundle+cache', ...(BASELINE ? (['baseline'] as const) : [])];
  const distOf = (variant: Variant): string => (variant === 'baseline' ? BASELINE! : DIST);
  const figures = new Map<Variant, { serving: number[]; cpu: number[] }>(variants.map((v) => [v, { serving: [], cpu: [] }]));
  try {
    // A first start creates the database, places an order and writes the code cache (saved once the app
    // serves); the baseline's first start writes its own cache.
    arrange('bundle+cache', cacheAside);
    await startOnce(dataDir, DIST, true);
    if (!existsSync(CACHE)) throw new Error('the first start did not write the code cache');
    if (BASELINE) await startOnce(dataDir, BASELINE);
    context.progress(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    for (let round = 0; round < rounds; round += 1) {
      for (const variant of variants) {
        arrange(variant, cacheAside);
        const { servingMs, cpuMs } = await startOnce(dataDir, distOf(variant));
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
