// Bundles the compiled reference app (examples/food-delivery/dist/entry.js, written by `tsc -b`: the app,
// its logger and telemetry) into one file, dist/app.bundle.js, which `npm start` loads with a V8 code cache (see src/load-app.ts). One file
// instead of ~1,150 modules saves Node's module resolution and file reads at every start; the code cache
// saves compiling it. Decorator metadata is already in tsc's output, so esbuild only concatenates.
import { build } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'examples', 'food-delivery', 'dist');

await build({
  entryPoints: [join(dist, 'entry.js')],
  outfile: join(dist, 'app.bundle.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The package's CommonJS entries (its `main` fields), as Node's require() picks them.
  mainFields: ['main'],
  tsconfig: join(root, 'examples', 'food-delivery', 'tsconfig.build.json'),
  // Native addons and database drivers load from node_modules at run time, and only when a store needs
  // them. The OpenTelemetry API stays one copy shared with the SDK, which is loaded only when configured
  // (telemetry.ts); the metrics packages /metrics needs at start are bundled.
  external: [
    'better-sqlite3',
    'pg',
    'pg-native',
    '@eventstore/db-client',
    '@opentelemetry/api',
    '@opentelemetry/sdk-node',
    '@opentelemetry/exporter-trace-otlp-*',
    '@opentelemetry/exporter-metrics-otlp-*',
  ],
  // A new id at every build keys the V8 code cache to this exact bundle (load-app.ts).
  banner: { js: `// eventfold-build ${randomUUID()}` },
  // Minified (a third less to read and deserialise at every start), keeping function and class names:
  // type-graphql names GraphQL types after classes. Stack traces map back with --enable-source-maps.
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  // app.ts resolves graphql-ws's browser build with require.resolve; the bundle runs with a require made
  // for its own path (src/load-app.ts), so node_modules resolve as they do for app.js.
  logOverride: { 'require-resolve-not-external': 'silent' },
  legalComments: 'none',
});
const size = statSync(join(dist, 'app.bundle.js')).size;
console.log(`bundled the reference app: ${(size / 1048576).toFixed(1)} MiB in examples/food-delivery/dist/app.bundle.js`);
