import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatLoad, formatNumber, loadAverage, machine, printTable, writeResults, type BenchContext, type BenchResult } from './harness';

/**
 * `npm run bench` runs every suite; `npm run bench -- store` one; `--quick` a short run of each.
 * A suite is the file `bench/suites/<name>.bench.ts`, exporting `run(context)`.
 */
const SUITE_ORDER = ['store', 'audit', 'commands', 'projections', 'reactors', 'timers', 'workflow', 'api', 'sse', 'tracing', 'peers', 'personal-data', 'startup'] as const;

type Suite = (context: BenchContext) => Promise<void>;

function suiteFile(name: string): string {
  return join(__dirname, 'suites', `${name}.bench.ts`);
}

function loadSuite(name: string): Suite {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(suiteFile(name)) as { run?: Suite };
  if (typeof module.run !== 'function') throw new Error(`bench/suites/${name}.bench.ts does not export run(context)`);
  return module.run;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const available = SUITE_ORDER.filter((name) => existsSync(suiteFile(name)));
  const names = args.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !(available as readonly string[]).includes(name));
  if (unknown.length > 0) {
    console.error(`unknown suite(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
    process.exit(2);
  }
  const selected = names.length > 0 ? names : [...available];
  const m = machine();
  console.log(`eventfold benchmarks${quick ? ' (quick)' : ''} — ${m.cpus} × ${m.cpuModel}, Node ${m.node}, ${m.date}`);
  for (const suite of selected) {
    const results: BenchResult[] = [];
    const started = Date.now();
    // The machine is shared: every suite's figures are printed and stored with the load they ran under.
    const loadAtStart = loadAverage();
    console.log(`[${suite}] machine load (1 / 5 / 15 min) at start: ${formatLoad(loadAtStart)}`);
    const context: BenchContext = {
      quick,
      record: (result) => {
        results.push({ suite, ...result });
        console.log(`  ${suite} ${result.backend} ${result.metric}: ${formatNumber(result.value)} ${result.unit}`);
      },
      progress: (message) => console.log(`[${suite} +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`),
    };
    await loadSuite(suite)(context);
    const load = { start: loadAtStart, end: loadAverage() };
    const file = writeResults(suite, results, load);
    console.log();
    printTable(results);
    console.log(`machine load (1 / 5 / 15 min): at start ${formatLoad(load.start)}, at end ${formatLoad(load.end)}`);
    console.log(`\nwrote ${file}\n`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
