import { Presets, SingleBar } from 'cli-progress';
import type { CliContext } from './cli-context';

/** Reports the progress of long work (copy, rebuild --wait). */
export interface Progress {
  /** `done` so far of `total` (undefined while unknown). */
  update(done: number, total: number | undefined): void;
  stop(): void;
}

/** How often plain progress lines are written at most, besides every tenth of the work. */
const LINE_INTERVAL_MS = 2_000;

/**
 * A progress bar with rate and time left when standard output is a terminal (and not `--json`), else
 * plain lines: `label: 1200/5000 (24%), 950/s, about 4 s left`, written at most every 2 s or every tenth
 * of the work, on standard output (standard error under `--json`, so the JSON stays parseable).
 */
export function startProgress(context: CliContext, label: string, unit: string): Progress {
  const started = Date.now();
  if (context.stdout.isTTY && !context.json) {
    const bar = new SingleBar(
      {
        format: `${label} {bar} {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
        stream: context.stdout,
        hideCursor: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    let begun = false;
    return {
      update(done, total) {
        const rate = Math.round(done / Math.max(0.001, (Date.now() - started) / 1_000));
        if (!begun) {
          bar.start(total ?? done, done, { rate });
          begun = true;
        } else {
          if (total !== undefined) bar.setTotal(total);
          bar.update(done, { rate });
        }
      },
      stop() {
        if (begun) bar.stop();
      },
    };
  }
  const out = context.json ? context.stderr : context.stdout;
  let lastAt = 0;
  let lastTenth = -1;
  return {
    update(done, total) {
      const now = Date.now();
      const tenth = total ? Math.floor((done / total) * 10) : -1;
      const finished = total !== undefined && done >= total;
      if (!finished && tenth === lastTenth && now - lastAt < LINE_INTERVAL_MS) return;
      lastAt = now;
      lastTenth = tenth;
      const seconds = Math.max(0.001, (now - started) / 1_000);
      const rate = done / seconds;
      const parts = [`${label}: ${done}${total !== undefined ? `/${total} (${Math.floor((done / Math.max(1, total)) * 100)}%)` : ''} ${unit}`, `${Math.round(rate)}/s`];
      if (total !== undefined && rate > 0 && done < total) parts.push(`about ${Math.ceil((total - done) / rate)} s left`);
      out.write(`${parts.join(', ')}\n`);
    },
    stop() {},
  };
}
