import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { createSafelist } from '../../../src/api/persisted-operations';
import { generatePageFiles, MANIFEST_FILE, pageOperations, SCHEMA_FILE, TYPES_FILE } from '../scripts/page-codegen';
import { appSchemaText } from '../scripts/schema-text';

/**
 * The page's operations (src/web/operations.js) are typed from the app's schema: a schema change that
 * breaks the page, or an operation edited without `npm run codegen`, fails here.
 */
describe("the web page's operations against the app's schema", () => {
  jest.setTimeout(30_000);
  const committedSchema = readFileSync(SCHEMA_FILE, 'utf8');

  it('examples/food-delivery/schema.graphql is what the code emits (run `npm run schema`)', async () => {
    if (committedSchema !== (await appSchemaText())) {
      throw new Error('examples/food-delivery/schema.graphql is stale: run `npm run schema`, then `npm run codegen`, and commit both.');
    }
  });

  it('every operation of the page is valid against the schema, and named as app.js calls it', () => {
    const schema = buildSchema(committedSchema);
    const operations = pageOperations();
    expect(Object.keys(operations).sort()).toEqual(['Approve', 'Cancel', 'Forget', 'History', 'Order', 'Orders', 'Place', 'Start', 'Updated']);
    for (const [name, text] of Object.entries(operations)) {
      const document = parse(text);
      expect(validate(schema, document).map((error) => `${name}: ${error.message}`)).toEqual([]);
      expect(document.definitions.map((definition) => ('name' in definition ? definition.name?.value : undefined))).toEqual([name]);
    }
  });

  it('the check fails when the schema loses what the page uses', () => {
    // A rename in the API, as a careless refactoring would make it.
    const broken = buildSchema(committedSchema.replace('orderHistory(id: ID!)', 'orderEvents(id: ID!)'));
    expect(validate(broken, parse(pageOperations().History!)).map((error) => error.message)).toEqual([
      'Cannot query field "orderHistory" on type "Query".',
    ]);
  });

  it('the typed document nodes and the persisted-documents manifest are up to date (run `npm run codegen`)', async () => {
    const { types, manifest } = await generatePageFiles();
    if (readFileSync(TYPES_FILE, 'utf8') !== types || readFileSync(MANIFEST_FILE, 'utf8') !== manifest) {
      throw new Error('src/web/operations.generated.ts or persisted-documents.json is stale: run `npm run codegen` and commit them.');
    }
    expect(types).toContain('export const PlaceDocument');
    // The manifest is the page's safelist (SAFELIST=1): every operation it sends is listed.
    const safelist = createSafelist(JSON.parse(manifest) as Record<string, string>);
    for (const text of Object.values(pageOperations())) expect(safelist.has(text)).toBe(true);
  });
});
