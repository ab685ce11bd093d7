// Writes schema.graphql from the code (the API test app with the kit's audit and admin API), and its
// Federation 2 subgraph variant, schema.federated.graphql, and the reference app's schema
// (examples/food-delivery/schema.graphql, which its page is typed from).
// Run: node -r @swc-node/register test/api/app/emit-schema.ts  (npm run schema)
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appSchemaText } from '../../../examples/food-delivery/scripts/schema-text';
import { federatedSchemaText, testAppSchemaText } from './schema-text';

async function main(): Promise<void> {
  const path = join(__dirname, '..', '..', '..', 'schema.graphql');
  writeFileSync(path, await testAppSchemaText());
  console.log(`wrote ${path}`);
  const federated = join(__dirname, '..', '..', '..', 'schema.federated.graphql');
  writeFileSync(federated, await federatedSchemaText());
  console.log(`wrote ${federated}`);
  const app = join(__dirname, '..', '..', '..', 'examples', 'food-delivery', 'schema.graphql');
  writeFileSync(app, await appSchemaText());
  console.log(`wrote ${app}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
