export {
  handleCommand,
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
export { DEFAULT_COMMAND_RETRY, type CommandRetryPolicy } from './retry-policy';
export { loadAt, eventTime, type HistoricState, type PointInTime } from './load-at';
export { readCorrelation } from './read-correlation';
export { decodeRecorded, type StreamLoaderEnvironment } from './stream-loader';
export { upcastRecorded, upcastKnown, type UpcastEvent } from './upcast-recorded';
export type { Snapshot, SnapshotStore } from './snapshot-store';
export { InMemorySnapshotStore } from './in-memory-snapshot-store';
export { StateCache, type CachedState } from './state-cache';
export { RECENT_COMMAND_LIMIT } from './recent-commands';
