import { machine, printTable, writeResults, type BenchResult } from './harness';
import { commandsSuite } from './suites/commands.bench';
import { storeSuite } from './suites/store.bench';
import type { BenchContext } from './harness';

/** `npm run bench` runs every suite; `npm run bench -- store` one; `--quick` a short run of each. */
const suites: Record<string, (context: BenchContext) => Promise<void>> = {
  store: storeSuite,
  commands: commandsSuite,
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const names = args.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !(name in suites));
  if (unknown.length > 0) {
    console.error(`unknown suite(s): ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  const selected = names.length > 0 ? names : Object.keys(suites);
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
    await suites[suite]!(context);
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
