// The app's one door to the kit: everything comes from eventfold's public entry points, never from its
// internals. In this repository the names resolve to the package itself (its `exports`). The
// PostgreSQL entry is loaded only when the store is PostgreSQL (src/read-models/open-read-models.ts).
export * from 'eventfold';
export * from 'eventfold/sqlite';
export * from 'eventfold/graphql';
