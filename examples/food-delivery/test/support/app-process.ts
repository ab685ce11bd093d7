import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..', '..', '..');
const MAIN = join('examples', 'food-delivery', 'src', 'main.ts');
const PAYMENT_MAIN = join('examples', 'food-delivery', 'src', 'payment', 'main.ts');

/** A free TCP port on loopback, found by letting the OS pick one. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A temp folder, removed by `remove()`. */
export function tempDataDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'food-delivery-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface AppProcessOptions {
  /** EVENTFOLD_STORE; default SQLite in `dataDir`. */
  readonly store?: string;
  readonly dataDir: string;
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The app as a new user runs it: `node -r @swc-node/register examples/food-delivery/src/main.ts` from
 * the repository root, on free ports, as a child process. Ready when it prints its web page URL.
 */
export class AppProcess {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = '';
  private waiters: (() => void)[] = [];

  private constructor(
    readonly port: number,
    readonly paymentPort: number,
    options: AppProcessOptions,
    script = MAIN,
  ) {
    this.process = spawn(process.execPath, ['-r', '@swc-node/register', script], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        EVENTFOLD_STORE: options.store ?? `sqlite:${join(options.dataDir, 'eventfold.db')}`,
        DATA_DIR: options.dataDir,
        PORT: String(port),
        PAYMENT_PORT: String(paymentPort),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this);
    const collect = (chunk: Buffer): void => {
      this.output += chunk.toString();
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.process.stdout!.on('data', collect);
    this.process.stderr!.on('data', collect);
    this.exited = new Promise((resolveExit) =>
      this.process.once('exit', (code, signal) => {
        running.delete(this);
        for (const wake of this.waiters.splice(0)) wake();
        resolveExit({ code, signal });
      }),
    );
  }

  static async start(options: AppProcessOptions): Promise<AppProcess> {
    const app = new AppProcess(await freePort(), await freePort(), options);
    await app.waitForOutput(/Web page\s+http:\/\/\S+/, 60_000);
    return app;
  }

  /**
   * The payment function alone, as its own process (`src/payment/main.ts`), on `paymentPort`. Not
   * waited for: the app's webhook retries until it answers.
   */
  static spawnPaymentFunction(options: AppProcessOptions & { readonly paymentPort: number }): AppProcess {
    return new AppProcess(0, options.paymentPort, options, PAYMENT_MAIN);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  get graphqlUrl(): string {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/graphql`;
  }

  /** Resolves once the output matches (never a sleep: woken by each chunk of output). */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`the app exited (${this.process.exitCode ?? this.process.signalCode}) before printing ${pattern}:\n${this.output}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${pattern}; output:\n${this.output}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  /** Ctrl-C, as a user would press it; resolves with how the process ended. */
  async interrupt(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGINT');
    return this.exited;
  }
}

const running = new Set<AppProcess>();

/** Kills every app a failing test left running. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map((app) => {
      app.process.kill('SIGKILL');
      return app.exited;
    }),
  );
}
