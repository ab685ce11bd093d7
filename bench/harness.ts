import { cpus, loadavg } from 'node:os';
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

/** The machine's load average (1, 5, 15 minutes) when a suite starts and ends: the machine is shared. */
export interface MachineLoad {
  readonly start: readonly number[];
  readonly end: readonly number[];
}

export function loadAverage(): number[] {
  return loadavg().map((value) => Math.round(value * 100) / 100);
}

export function formatLoad(values: readonly number[]): string {
  return values.map((value) => value.toFixed(2)).join(' / ');
}

export function writeResults(suite: string, results: readonly BenchResult[], load?: MachineLoad): string {
  const folder = join(__dirname, 'results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${suite}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: machine(), ...(load && { load }), results }, null, 2)}\n`);
  return file;
}

/** One side of an alternating measurement: a timed round at a time. */
export interface AlternatingSide {
  readonly label: string;
  round(round: number): Promise<{ units: number; ms: number }>;
}

/**
 * Runs the sides in alternating rounds (A B, B A, A B, …) and returns units per second of each over
 * all its rounds, so that load drifting during a run (the machine is shared) weighs on every side
 * alike: ratios between sides are only meaningful when measured this way.
 */
export async function alternating(sides: readonly AlternatingSide[], rounds: number): Promise<Map<string, number>> {
  const totals = sides.map(() => ({ units: 0, ms: 0 }));
  for (let round = 0; round < rounds; round++) {
    const order = sides.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      const result = await sides[index]!.round(round);
      totals[index]!.units += result.units;
      totals[index]!.ms += result.ms;
    }
  }
  return new Map(sides.map((side, index) => [side.label, (totals[index]!.units / totals[index]!.ms) * 1000]));
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
