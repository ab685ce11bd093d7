import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const CHILD = join(__dirname, 'reactor-worker-child.ts');

export interface WorkerMessage {
  kind: 'ready' | 'held' | 'handled';
  partitions?: number[];
  at?: number;
  count?: number;
}

/** Every worker started, so that a failing test never leaves one running. */
export const liveWorkers = new Set<WorkerProcess>();

/** A reactor worker child process, with a way to wait for its messages (with a timeout, never a sleep). */
export class WorkerProcess {
  readonly process: ChildProcess;
  readonly messages: WorkerMessage[] = [];
  readonly exited: Promise<number | null>;
  private wake: (() => void) | undefined;
  private stderr = '';

  constructor(connection: string, readonly workerId: string, partitions: number, leaseMs: number) {
    this.process = fork(CHILD, [connection, workerId, String(partitions), String(leaseMs)], {
      execArgv: ['-r', '@swc-node/register'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    liveWorkers.add(this);
    this.process.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.process.on('message', (message: WorkerMessage) => {
      this.messages.push(message);
      this.wake?.();
    });
    this.exited = new Promise((resolve) =>
      this.process.on('exit', (code) => {
        liveWorkers.delete(this);
        this.wake?.();
        resolve(code);
      }),
    );
  }

  get held(): number[] {
    const last = [...this.messages].reverse().find((message) => message.kind === 'held');
    return last?.partitions ?? [];
  }

  async until(match: (message: WorkerMessage) => boolean, what: string, timeoutMs = 20_000): Promise<WorkerMessage> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.messages.length; seen++) if (match(this.messages[seen]!)) return this.messages[seen]!;
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`worker ${this.workerId} exited before ${what}: ${this.stderr}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what} from ${this.workerId}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    this.process.send('stop');
    const code = await this.exited;
    if (code !== 0) throw new Error(`worker ${this.workerId} exited with ${code}: ${this.stderr}`);
  }
}
