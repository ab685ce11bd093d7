export {
  ProjectionError,
  InvalidProjectionError,
  InvalidIdentifierError,
  InvalidDocumentError,
  InvalidQueryError,
  DocumentNotFoundError,
  UnknownProjectionError,
  ProjectionFailedError,
  ProjectionVersionConflictError,
  CheckpointConflictError,
  WaitForPositionTimeoutError,
  WaitForStateTimeoutError,
  RebuildTimeoutError,
  ReadModelUnavailableError,
  EngineStoppedError,
  InlineProjectionFailedError,
  type ProjectionErrorCode,
} from './errors';
export {
  defineCollection,
  defineProjection,
  type AnyProjection,
  type CollectionDefinition,
  type CollectionMap,
  type DocumentOf,
  type ProjectionDefinition,
  type ProjectionEvent,
  type ProjectionOptions,
  type ProjectionTransaction,
  type ReadModelDialect,
  type SqlDialect,
  type SqlParameter,
  type TableDefinition,
} from './projection';
export type { DocumentQuery, DocumentReader, DocumentWriter, IndexType, IndexValue, Where } from './document';
export type { DocumentKeys } from './projection';
export { ChangeFeed, type ChangeListener, type ProjectionChange, type WatchOptions } from './change-feed';
export type {
  FailedEvent,
  ProjectionErrorInfo,
  ProjectionState,
  ProjectionStatus,
  RebuildStatus,
  SlotStatus,
} from './projection-status';
export type {
  BatchCommit,
  BatchRequest,
  InlineBatch,
  ProjectionFailure,
  ProjectionRecord,
  ReadModelStore,
  SlotLayout,
  SlotRecord,
} from './read-model-store';
export type { RetryPolicy } from './retry-policy';
export type { ProjectionEventSource } from './slot-runner';
export { ProjectionEngine, type ProjectionEngineOptions, type WaitOptions } from './projection-engine';
export { ProjectionWatcher, type ProjectionWatcherOptions } from './projection-watcher';
export { InMemoryReadModelStore } from './in-memory-read-model-store';
export { TENANT_FIELD, tenantDocumentKey, tenantDocuments } from './tenant-documents';
