import { Writable } from 'node:stream';
import type { CliContext } from '../../../src/cli/cli-context';
import { runCli } from '../../../src/cli/program';

/** A stream that keeps what is written, and wakes waiters on every chunk. */
export class Captured extends Writable {
  text = '';
  isTTY = false;
  private waiters: (() => void)[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    for (const wake of this.waiters.splice(0)) wake();
    callback();
  }

  /** Resolves once the text matches (woken by each write, bounded by `timeoutMs`). */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.text)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${pattern}; got:\n${this.text}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout's lines parsed as JSON (under --json). */
  json<T = unknown>(): T[];
}

/** Runs the CLI in this process, as `eventfold <argv>` would, with its own output streams. */
export function startCli(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; tty?: boolean } = {}) {
  const stdout = new Captured();
  const stderr = new Captured();
  stdout.isTTY = options.tty ?? false;
  const context: CliContext = { stdout, stderr, env: options.env ?? {}, json: false, signal: options.signal ?? new AbortController().signal };
  const done = runCli(argv, context).then(
    (code): CliRun => ({
      code,
      stdout: stdout.text,
      stderr: stderr.text,
      json: <T>() =>
        stdout.text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as T),
    }),
  );
  return { stdout, stderr, done };
}

export function cli(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; tty?: boolean } = {}): Promise<CliRun> {
  return startCli(argv, options).done;
}
