// The app's one door to the kit: everything comes from eventfold's public entry points, never from its
// internals. In this repository the names resolve to the package itself (its `exports`).
export * from 'eventfold';
export * from 'eventfold/sqlite';
export * from 'eventfold/postgres';
export * from 'eventfold/graphql';
