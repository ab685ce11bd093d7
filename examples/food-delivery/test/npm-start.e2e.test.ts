// `npm start` as a user runs it: the compiled app (examples/food-delivery/dist, built by `npm install`'s
// prepare step), started through npm. A signal to the npm process must reach the app and stop it cleanly,
// leaving nothing holding its ports (npm's `sh -c` used to die alone and orphan node).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { freePort, tempDataDir } from './support/app-process';

const ROOT = resolve(__dirname, '..', '..', '..');

interface Started {
  readonly npm: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly output: () => string;
  readonly port: number;
  readonly paymentPort: number;
  /** Milliseconds from spawning `npm start` to the first HTTP 200 of the web page. */
  readonly servingAfterMs: number;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

async function startWithNpm(dataDir: string): Promise<Started> {
  const port = await freePort();
  const paymentPort = await freePort();
  const spawnedAt = performance.now();
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      EVENTFOLD_STORE: `sqlite:${join(dataDir, 'eventfold.db')}`,
      DATA_DIR: dataDir,
      PORT: String(port),
      PAYMENT_PORT: String(paymentPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: (() => void)[] = [];
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  };
  npm.stdout.on('data', collect);
  npm.stderr.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    npm.once('exit', (code, signal) => {
      for (const wake of waiters.splice(0)) wake();
      resolveExit({ code, signal });
    }),
  );
  // Woken by each chunk of output, never a sleep: the app prints its URL once it listens.
  const deadline = Date.now() + 30_000;
  while (!/Web page\s+http:\/\/\S+/.test(output)) {
    if (npm.exitCode !== null || npm.signalCode !== null) throw new Error(`npm start exited before serving:\n${output}`);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`npm start did not serve within 30 s:\n${output}`);
    await new Promise<void>((wake) => {
      const timer = setTimeout(wake, remaining);
      waiters.push(() => {
        clearTimeout(timer);
        wake();
      });
    });
  }
  const page = await fetch(`http://127.0.0.1:${port}/`);
  const servingAfterMs = performance.now() - spawnedAt;
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<html');
  return { npm, exited, output: () => output, port, paymentPort, servingAfterMs };
}

describe('npm start (the compiled app)', () => {
  const started: ChildProcess[] = [];

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'examples', 'food-delivery', 'dist', 'main.js'))) {
      throw new Error('examples/food-delivery/dist is missing: `npm install` builds it (prepare), or run `npm run prepare`');
    }
  });

  afterAll(() => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('serves, restarts on the same data, and %s to npm stops the app with no orphan', async (signal) => {
    const data = tempDataDir();
    try {
      for (const round of ['first start', 'restart']) {
        const app = await startWithNpm(data.path);
        started.push(app.npm);
        // How fast is measured by `npm run bench -- startup`, never here; this prints it for the record.
        process.stdout.write(`npm start (${round}): serving after ${Math.round(app.servingAfterMs)} ms\n`);
        // The bundled app answers GraphQL, and its first start left the code cache for the next one.
        const answer = await fetch(`http://127.0.0.1:${app.port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        expect(await answer.json()).toEqual({ data: { __typename: 'Query' } });
        expect(existsSync(join(ROOT, 'examples', 'food-delivery', 'dist', 'app.bundle.js.v8cache'))).toBe(true);
        expect(app.npm.kill(signal)).toBe(true);
        const exit = await app.exited;
        expect(app.output()).toContain('stopped cleanly');
        expect(exit).toEqual({ code: 0, signal: null });
        expect(await portIsFree(app.port)).toBe(true);
        expect(await portIsFree(app.paymentPort)).toBe(true);
      }
    } finally {
      data.remove();
    }
  }, 90_000);
});
