export type { Message } from './message';
export { fold, type Decider } from './decider';
export {
  DomainError,
  ValidationError,
  UnknownCommandError,
  MalformedStreamNameError,
  InvalidStoredEventError,
  InvalidDecisionError,
  DeciderFailedError,
  BusinessRuleError,
  type DomainErrorCode,
  type ValidationIssue,
} from './errors';
export {
  defineEvents,
  versioned,
  upcaster,
  type EventCatalog,
  type EventCatalogOptions,
  type EventOf,
  type EventSchemas,
  type EventsFrom,
  type StoredEventShape,
  type Upcaster,
  type VersionedEvent,
} from './event-catalog';
export {
  defineCommands,
  type CommandCatalog,
  type CommandDefinition,
  type CommandOf,
  type CommandSchemas,
  type CommandsFrom,
  type StreamExpectation,
} from './command-catalog';
export { parseStreamName, toStreamName, type StreamNameParts } from './stream-name';
export { defineAggregate, type Aggregate, type AggregateDefinition, type SnapshotPolicy } from './aggregate';
export { personal, isRedacted, type Redacted } from './personal-data';
