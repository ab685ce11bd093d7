export * from './event-store';
export * from './errors';
export { Position, maxPosition, type FromPosition } from './position';
export { readStreamForFold } from './fold-read';
export { InMemoryEventStore } from './in-memory-event-store';
export type { PagedEventStoreOptions } from './paged-event-store';
export {
  DEFAULT_STORE,
  connectEventStore,
  parseConnectionString,
  resolveConnectionString,
  type ConnectOptions,
  type StoreLocation,
} from './connect';
export type { AppendHook, AppendHookContext, AppendHookHost } from './append-hook';
export { isValidTenantId, splitTenantStream, tenantOfEvent, tenantStreamName } from './tenant-stream';
export {
  eventImporterOf,
  ImportConflictError,
  storeAdminOf,
  type EventImporter,
  type ImportCheckpoint,
  type ImportedEvent,
  type ImportResult,
  type ListStreamsOptions,
  type StoreAdmin,
  type StoreStatistics,
  type StreamSummary,
} from './store-admin';
export {
  StoreNotChainedError,
  verifyStore,
  type ChainBreak,
  type ChainBreakKind,
  type ChainHead,
  type VerifyOptions,
  type VerifyProgress,
  type VerifyReport,
} from './verify-store';
export {
  checkStreamProof,
  exportStreamProof,
  type ProofBatch,
  type ProofCheck,
  type ProofEvent,
  type ProofHeader,
  type ProofLine,
} from './audit-proof';
export { isStreamLifecycleHost, type DeleteStreamOptions, type StreamLifecycleHost, type StreamMetadata } from './stream-lifecycle';
export { archiveStreams, archiveStreamsToFile, openArchive, type Archive, type ArchiveResult, type ArchiveSelection } from './archive';
export { archiveFolder, withArchives, type ArchiveShelf } from './archive-reads';
