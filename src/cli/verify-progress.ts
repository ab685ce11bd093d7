import { Presets, SingleBar } from 'cli-progress';
import type { CliContext } from './cli-context';

/** How often a plain progress line is written at most. */
const LINE_INTERVAL_MS = 1_000;

export interface VerifyProgressReporter {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * Progress of a long check on standard error, so standard output keeps only the result: a bar when
 * standard error is a terminal, else a line (`verified 1200/5000 events (24%)`) at most once a second
 * and once at the end.
 */
export function startVerifyProgress(context: CliContext): VerifyProgressReporter {
  if (context.stderr.isTTY) {
    const bar = new SingleBar(
      { format: 'verifying {bar} {percentage}% | {value}/{total} events | ETA {eta_formatted}', stream: context.stderr, hideCursor: true },
      Presets.shades_classic,
    );
    let begun = false;
    return {
      update(done, total) {
        if (!begun) {
          bar.start(Math.max(total, done), done);
          begun = true;
        } else bar.update(done);
      },
      stop() {
        if (begun) bar.stop();
      },
    };
  }
  let lastAt = 0;
  let last: { done: number; total: number } | undefined;
  let written: number | undefined;
  const write = (done: number, total: number) => {
    written = done;
    context.stderr.write(`verified ${done}/${total} events (${Math.floor((done / Math.max(1, total)) * 100)}%)\n`);
  };
  return {
    update(done, total) {
      last = { done, total };
      const now = Date.now();
      if (now - lastAt < LINE_INTERVAL_MS) return;
      lastAt = now;
      write(done, total);
    },
    stop() {
      if (last && written !== last.done) write(last.done, last.total);
    },
  };
}
