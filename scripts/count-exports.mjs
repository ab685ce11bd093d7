// Lists the names each package entry point exports (values and types), as a user's `import { … }` sees
// them. `node scripts/count-exports.mjs` prints the counts; `--names` prints the names too; `--json`
// prints { entry: [names] }. test/public-api.unit.test.ts pins the same lists.
import ts from 'typescript';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The package's entry points (package.json exports) and the source file each one maps to. */
export const entries = {
  eventfold: 'src/index.ts',
  'eventfold/sqlite': 'src/backends/sqlite/index.ts',
  'eventfold/postgres': 'src/backends/postgres/index.ts',
  'eventfold/eventstoredb': 'src/backends/eventstoredb/index.ts',
  'eventfold/graphql': 'src/api/index.ts',
  'eventfold/testing': 'src/testing/index.ts',
};

/** Sorted exported names per entry point. */
export function exportedNames(directory = root) {
  const files = Object.values(entries).map((file) => path.resolve(directory, file));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    experimentalDecorators: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const result = {};
  for (const [entry, file] of Object.entries(entries)) {
    const source = program.getSourceFile(path.resolve(directory, file));
    if (!source) throw new Error(`${file} not found`);
    const module = checker.getSymbolAtLocation(source);
    result[entry] = module ? checker.getExportsOfModule(module).map((symbol) => symbol.name).sort() : [];
  }
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = exportedNames(process.argv.find((arg, index) => index > 1 && !arg.startsWith('--')) ?? root);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(names, null, 2));
  } else {
    for (const [entry, list] of Object.entries(names)) {
      console.log(`${entry}: ${list.length}`);
      if (process.argv.includes('--names')) console.log(`  ${list.join('\n  ')}`);
    }
  }
}
