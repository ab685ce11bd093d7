// The PostgreSQL entry, behind the app's own module so that it loads only for a PostgreSQL store
// (src/read-models/open-read-models.ts requires this file then) and resolves like every other import of
// the kit, under the TypeScript loader and compiled alike.
export { PostgresReadModelStore } from 'eventfold/postgres';
