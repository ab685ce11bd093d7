import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { federatedSchemaText, testAppSchemaText } from './app/schema-text';

describe('schema.graphql', () => {
  it('is what the code emits (run `npm run schema` after changing the API)', async () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    const emitted = await testAppSchemaText();
    if (committed !== emitted) {
      throw new Error('schema.graphql is stale: the code now emits a different schema. Run `npm run schema` (test/api/app/emit-schema.ts) and commit it.');
    }
    expect(emitted).toContain('type CommandReceipt');
  });

  it('schema.federated.graphql is what the code emits for the Federation 2 subgraph variant', async () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema.federated.graphql'), 'utf8');
    const emitted = await federatedSchemaText();
    if (committed !== emitted) {
      throw new Error('schema.federated.graphql is stale: the code now emits a different subgraph schema. Run `npm run schema` and commit it.');
    }
    expect(emitted).toContain('@link(url: "https://specs.apollo.dev/federation/v2.3"');
    expect(emitted).toMatch(/type Ticket\s+@key\(fields: "ticketId"\)/);
  });
});
