// `npm run codegen`: writes src/web/operations.generated.ts and src/web/persisted-documents.json from
// schema.graphql (run `npm run schema` first after changing the API) and src/web/operations.js.
import { writeFileSync } from 'node:fs';
import { generatePageFiles, MANIFEST_FILE, TYPES_FILE } from './page-codegen';

generatePageFiles().then(
  ({ types, manifest }) => {
    writeFileSync(TYPES_FILE, types);
    writeFileSync(MANIFEST_FILE, manifest);
    console.log(`wrote ${TYPES_FILE}\nwrote ${MANIFEST_FILE}`);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
