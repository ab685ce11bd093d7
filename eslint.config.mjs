import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const drivers = { sqlite: ['better-sqlite3'], postgres: ['pg', 'pg-*'], eventstoredb: ['@eventstore/*'] };

function driverRules() {
  const restrict = (names) => ({
    'no-restricted-imports': [
      'error',
      { patterns: names.map((name) => ({ group: [name], message: 'a database driver is imported only in its folder under src/backends/' })) },
    ],
  });
  const all = Object.values(drivers).flat();
  return [
    { files: ['src/**/*.ts'], ignores: ['src/backends/**'], rules: restrict(all) },
    ...Object.keys(drivers).map((backend) => ({
      files: [`src/backends/${backend}/**/*.ts`],
      rules: restrict(Object.entries(drivers).filter(([other]) => other !== backend).flatMap(([, names]) => names)),
    })),
  ];
}

export default tseslint.config(
  { ignores: ['.tmp/**', 'dist/**', 'test/package/fixtures/**', 'examples/*/dist/**', 'node_modules/**', 'bench/peers/**', 'bench/results/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      'no-control-regex': 'off',
    },
  },
  // One folder per backend: a database driver is imported in its backend's folder and nowhere else in src.
  ...driverRules(),
  {
    files: ['test/**/*.ts', 'examples/**/*.test.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/no-unsafe-member-access': 'off' },
  },
);
