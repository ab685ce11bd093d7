export {
  handleCommand,
  COMMAND_HASH_KEY,
  type CommandEnvironment,
  type CommandReceipt,
  type CommandRequest,
} from './handle-command';
export {
  CommandError,
  StreamAlreadyExistsError,
  StreamNotFoundError,
  ConcurrencyConflictError,
  CommandIdReusedError,
  type CommandErrorCode,
} from './errors';
export { eventIdFor, commandFingerprint } from './command-identity';
export { DEFAULT_COMMAND_RETRY, jitteredDelay, type CommandRetryPolicy } from './retry-policy';
export { loadAt, eventTime, type HistoricState, type PointInTime } from './load-at';
export { readCorrelation } from './read-correlation';
export { decodeRecorded, loadStream, readOn, SCHEMA_VERSION_KEY, type LoadedStream, type StreamLoaderEnvironment } from './stream-loader';
export type { Snapshot, SnapshotStore } from './snapshot-store';
export { InMemorySnapshotStore } from './in-memory-snapshot-store';
export { StateCache, type CachedState } from './state-cache';
export { RECENT_COMMAND_LIMIT } from './recent-commands';
