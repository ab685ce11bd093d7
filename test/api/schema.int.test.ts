import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testAppSchemaText } from './app/schema-text';

describe('schema.graphql', () => {
  it('is what the code emits (run `npm run schema` after changing the API)', async () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    const emitted = await testAppSchemaText();
    if (committed !== emitted) {
      throw new Error('schema.graphql is stale: the code now emits a different schema. Run `npm run schema` (test/api/app/emit-schema.ts) and commit it.');
    }
    expect(emitted).toContain('type CommandReceipt');
  });
});
