import { cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchResult {
  readonly suite: string;
  readonly backend: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
}

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly platform: string;
  readonly date: string;
}

export interface BenchContext {
  readonly quick: boolean;
  /** Records a figure and prints it at once. */
  record(result: Omit<BenchResult, 'suite'>): void;
  progress(message: string): void;
}

export function machine(): Machine {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

/**
 * Runs `work` from `workers` concurrent loops until `maxOperations` are done or `maxMs` has passed,
 * whichever comes first, and returns operations per second. Each call of `work` counts `unitsPerCall`.
 */
export async function throughput(
  options: { workers: number; maxOperations: number; maxMs: number; unitsPerCall?: number },
  work: (worker: number, iteration: number) => Promise<unknown>,
): Promise<{ perSecond: number; units: number; ms: number }> {
  const unitsPerCall = options.unitsPerCall ?? 1;
  let started = 0;
  let units = 0;
  const begin = performance.now();
  const deadline = begin + options.maxMs;
  await Promise.all(
    Array.from({ length: options.workers }, async (_, worker) => {
      for (let iteration = 0; ; iteration++) {
        if (started >= options.maxOperations || performance.now() >= deadline) return;
        started++;
        await work(worker, iteration);
        units += unitsPerCall;
      }
    }),
  );
  const ms = performance.now() - begin;
  return { perSecond: (units / ms) * 1000, units, ms };
}

export function writeResults(suite: string, results: readonly BenchResult[]): string {
  const folder = join(__dirname, 'results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${suite}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: machine(), results }, null, 2)}\n`);
  return file;
}

export function printTable(results: readonly BenchResult[]): void {
  const rows = results.map((r) => [r.suite, r.backend, r.metric, formatNumber(r.value), r.unit]);
  const header = ['suite', 'backend', 'metric', 'value', 'unit'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

export function formatNumber(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}
