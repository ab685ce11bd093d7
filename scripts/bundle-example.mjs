// Bundles the compiled reference app (examples/food-delivery/dist/entry.js, written by `tsc -b`: the app,
// its logger and telemetry) into one file, dist/app.bundle.js, which `npm start` loads with a V8 code cache (see src/load-app.ts). One file
// instead of ~1,150 modules saves Node's module resolution and file reads at every start; the code cache
// saves compiling it. Decorator metadata is already in tsc's output, so esbuild only concatenates.
import { build } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'examples', 'food-delivery', 'dist');
const EXTERNAL = [
  'better-sqlite3',
  'pg',
  'pg-native',
  '@eventstore/db-client',
  '@opentelemetry/sdk-node',
  '@opentelemetry/exporter-trace-otlp-*',
  '@opentelemetry/exporter-metrics-otlp-*',
];

/**
 * The kit checks that an optional package is installed (`assertInstalled`, a `require.resolve` through
 * node_modules) before loading it, to fail with a clear error. A package bundled here is there by
 * construction, so in the bundle the check runs for the external ones only (some 20 resolutions fewer at
 * every start).
 */
const bundledPackagesAreInstalled = {
  name: 'bundled-packages-are-installed',
  setup(build) {
    build.onLoad({ filter: /[\\/]internal[\\/]optional-package\.(js|ts)$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const check = 'require.resolve(name);';
      if (!source.includes(check)) throw new Error(`${args.path} no longer calls ${check}: update scripts/bundle-example.mjs`);
      const external = `(${JSON.stringify(EXTERNAL)}).some((pattern) => pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern)`;
      return { contents: source.replace(check, `if (${external}) ${check}`), loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
    });
  },
};

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
  // them; so does the OpenTelemetry SDK, loaded only when configured (telemetry.ts). The OpenTelemetry
  // API is bundled (some 40 files fewer to resolve and read at start): the SDK's own copy and this one
  // share their state through the API's global registry, as two copies of one version do.
  external: EXTERNAL,
  plugins: [bundledPackagesAreInstalled],
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
// esbuild escapes every non-ASCII character but those in regular expression literals (a few in
// validator and graphql-scalars). Escaped too, the bundle is ASCII, which load-app.ts reads as Latin-1:
// a one-byte string, about half the CPU of decoding UTF-8 into a two-byte one. Inside a regular
// expression `\uXXXX` means the same UTF-16 code unit (a pair of them the same code point with the u
// flag). Columns shift on those few lines of the source map.
const bundle = join(dist, 'app.bundle.js');
const text = readFileSync(bundle, 'utf8');
const escaped = text.replace(/(\\*)([^\x00-\x7f]+)/g, (_match, backslashes, characters, offset) => {
  // \é (an identity escape) would become \\u00e9, a backslash and "u00e9".
  if (backslashes.length % 2 === 1) throw new Error(`an escaped non-ASCII character at ${offset} of the bundle: teach scripts/bundle-example.mjs to escape it`);
  return backslashes + toUnicodeEscapes(characters);
});
writeFileSync(bundle, escaped);

/** Every UTF-16 code unit of `text` as a `\uXXXX` escape. */
function toUnicodeEscapes(text) {
  let out = '';
  for (let index = 0; index < text.length; index += 1) out += `\\u${text.charCodeAt(index).toString(16).padStart(4, '0')}`;
  return out;
}

const size = statSync(join(dist, 'app.bundle.js')).size;
console.log(`bundled the reference app: ${(size / 1048576).toFixed(1)} MiB in examples/food-delivery/dist/app.bundle.js`);
