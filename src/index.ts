// eventfold: the core. It loads no database driver, no GraphQL and no test tooling; backends
// (eventfold/sqlite, eventfold/postgres, eventfold/eventstoredb), the API (eventfold/graphql) and test
// helpers (eventfold/testing) are entry points of their own.
export * from './event-store';
export * from './domain';
export * from './commands';
export * from './projections';
export * from './handlers';
export * from './personal-data';
export { EventfoldError, ERROR_CATEGORIES, errorCategory, type ErrorCategory } from './internal/eventfold-error';
export { silentLogger, type Logger, type LogFn } from './internal/logger';
