// Jest projects by suffix (STYLE.md): unit (no I/O), integration (real databases), e2e (the running app).
// @swc/jest compiles TypeScript fast and emits decorator metadata, which type-graphql and inversify need.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    },
  ],
};

// jose (JWT) and auto-bind (under GraphQL Code Generator's plugins) ship ES modules only; Node 20 loads them with require(esm), Jest's module runtime does not,
// so the same swc transform turns them into CommonJS for tests.
const esmOnly = ['jose', 'auto-bind'];
const transformAll = { ...transform, [`/node_modules/(${esmOnly.join('|')})/.+\\.js$`]: transform['^.+\\.ts$'] };

const project = (displayName, suffix, extra = {}) => ({
  displayName,
  testEnvironment: 'node',
  transform: transformAll,
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: {
    // The package's own entry points resolve to its sources in tests (the consumer test uses the tarball).
    '^eventfold$': '<rootDir>/src/index.ts',
    '^eventfold/graphql$': '<rootDir>/src/api/index.ts',
    '^eventfold/testing$': '<rootDir>/src/testing/index.ts',
    '^eventfold/(sqlite|postgres|eventstoredb)$': '<rootDir>/src/backends/$1/index.ts',
    // Relative imports written with a .js extension (Node's ESM resolution) name .ts sources.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: [`<rootDir>/test/**/*.${suffix}.test.ts`, `<rootDir>/examples/**/*.${suffix}.test.ts`],
  ...extra,
});

/** @type {import('jest').Config} */
module.exports = {
  reporters: ['default', '<rootDir>/test/support/skip-reporter.js'],
  projects: [
    project('unit', 'unit'),
    project('integration', 'int', { globalSetup: '<rootDir>/test/support/global-setup.ts', globalTeardown: '<rootDir>/test/support/global-teardown.ts' }),
    project('e2e', 'e2e', { globalSetup: '<rootDir>/test/support/global-setup.ts', globalTeardown: '<rootDir>/test/support/global-teardown.ts' }),
  ],
};
