import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { machine, printTable, writeResults, type BenchContext, type BenchResult } from './harness';

/**
 * `npm run bench` runs every suite; `npm run bench -- store` one; `--quick` a short run of each.
 * A suite is the file `bench/suites/<name>.bench.ts`, exporting `run(context)`.
 */
const SUITE_ORDER = ['store', 'audit', 'commands', 'projections', 'reactors', 'api', 'peers'] as const;

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
    const context: BenchContext = {
      quick,
      record: (result) => {
        results.push({ suite, ...result });
        console.log(`  ${suite} ${result.backend} ${result.metric}: ${Math.round(result.value).toLocaleString('en-US')} ${result.unit}`);
      },
      progress: (message) => console.log(`[${suite} +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`),
    };
    await loadSuite(suite)(context);
    const file = writeResults(suite, results);
    console.log();
    printTable(results);
    console.log(`\nwrote ${file}\n`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
