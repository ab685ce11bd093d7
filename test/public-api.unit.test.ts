import path from 'node:path';
import ts from 'typescript';

// The public API, pinned: every name each entry point exports (values and types), sorted. A new export
// is a decision, not an accident: add it here on purpose, with its TSDoc. Removing one breaks users.
// (scripts/count-exports.mjs prints the same lists for any checkout, e.g. to compare two commits.)

const root = path.resolve(__dirname, '..');

const entryFiles: Record<string, string> = {
  'eventfold': 'src/index.ts',
  'eventfold/sqlite': 'src/backends/sqlite/index.ts',
  'eventfold/postgres': 'src/backends/postgres/index.ts',
  'eventfold/eventstoredb': 'src/backends/eventstoredb/index.ts',
  'eventfold/graphql': 'src/api/index.ts',
  'eventfold/testing': 'src/testing/index.ts',
};

const expected: Record<string, readonly string[]> = {
  'eventfold': [
    'Aggregate', 'AggregateDefinition', 'AnyProjection', 'AppendHook', 'AppendHookContext', 'AppendHookHost',
    'AppendOptions', 'AppendResult', 'Archive', 'ArchiveResult', 'ArchiveSelection', 'BatchCommit', 'BatchRequest', 'BatchTooLargeError', 'BusinessRuleError',
    'CachedState', 'ChainBreak', 'ChainBreakKind', 'ChainHead', 'ChangeFeed', 'ChangeListener', 'CheckpointConflictError', 'CollectionDefinition',
    'CollectionMap', 'CommandCatalog', 'CommandDefinition', 'CommandEnvironment', 'CommandError',
    'CommandErrorCode', 'CommandIdReusedError', 'CommandOf', 'CommandReceipt', 'CommandRequest',
    'CommandRetryPolicy', 'CommandSchemas', 'CommandsFrom', 'ConcurrencyConflictError', 'ConnectOptions',
    'DEFAULT_COMMAND_RETRY', 'DEFAULT_LIMITS', 'DEFAULT_REACTOR_RETRY', 'DEFAULT_STORE',
    'DEFAULT_TOLERANCE_SECONDS', 'Decider', 'DeciderFailedError', 'DeleteStreamOptions', 'DeliveryInfo', 'DeliveryPayload',
    'DeliveryResponse', 'Direction', 'DocumentKeys', 'DocumentNotFoundError', 'DocumentOf', 'DocumentQuery',
    'DocumentReader', 'DocumentWriter', 'DomainError', 'DomainErrorCode', 'DuplicateEventIdError',
    'ERROR_CATEGORIES', 'EngineStoppedError', 'ErrorCategory', 'EventCatalog', 'EventData', 'EventFilter',
    'EventMetadata', 'EventOf', 'EventSchemas', 'EventStore', 'EventStoreBackend', 'EventStoreError',
    'EventStoreErrorCode', 'EventStoreLimits', 'EventStoreReader', 'EventStoreSubscriber', 'EventStoreWriter',
    'EventfoldError', 'EventsFrom', 'ExpectedRevision', 'FailedEvent', 'FoldEvent', 'FromPosition',
    'HistoricState', 'HttpFunction', 'HttpFunctionOptions', 'IDEMPOTENCY_HEADER', 'InMemoryEventStore',
    'InMemoryReactorStateStore', 'InMemoryReadModelStore', 'InMemorySnapshotStore', 'IndexType', 'IndexValue',
    'InlineBatch', 'InlineProjectionFailedError', 'InvalidArgumentError', 'InvalidConnectionStringError',
    'InvalidDecisionError', 'InvalidDeliveryError', 'InvalidDocumentError', 'InvalidEventError',
    'InvalidIdentifierError', 'InvalidPositionError', 'InvalidProjectionError', 'InvalidQueryError',
    'InvalidReactorError', 'InvalidSignatureError', 'InvalidStoredEventError', 'InvalidStreamNameError',
    'Invocation', 'InvocationLogOptions', 'InvocationQuery', 'JsonObject', 'JsonValue', 'LambdaHttpEvent',
    'LambdaHttpResult', 'LeaseGrant', 'LeaseInfo', 'LogFn', 'Logger', 'MalformedStreamNameError', 'Message',
    'MissingPackageError', 'NO_STREAM_REVISION', 'NonRetryableError', 'PagedEventStoreOptions', 'ParkedEvent',
    'ParkedEventRecord', 'ParkedPage', 'ParkedQuery', 'PartitionOptions', 'PointInTime', 'Position',
    'ProjectionChange', 'ProjectionDefinition', 'ProjectionEngine', 'ProjectionEngineOptions',
    'ProjectionError', 'ProjectionErrorCode', 'ProjectionErrorInfo', 'ProjectionEvent',
    'ProjectionEventSource', 'ProjectionFailedError', 'ProjectionFailure', 'ProjectionOptions',
    'ProjectionRecord', 'ProjectionState', 'ProjectionStatus', 'ProjectionTransaction',
    'ProjectionVersionConflictError', 'ProjectionWatcher', 'ProjectionWatcherOptions', 'ProofBatch', 'ProofCheck', 'ProofEvent', 'ProofHeader', 'ProofLine', 'RECENT_COMMAND_LIMIT',
    'Reactor', 'ReactorCommand', 'ReactorContext', 'ReactorDefinition', 'ReactorError', 'ReactorErrorCode',
    'ReactorErrorInfo', 'ReactorEvent', 'ReactorHandler', 'ReactorLogger', 'ReactorOptions',
    'ReactorOrdering', 'ReactorRetryPolicy', 'ReactorRunner', 'ReactorRunnerOptions', 'ReactorStateStore',
    'ReactorStatus', 'ReactorVerificationError', 'ReactorWaitTimeoutError', 'ReadAllOptions',
    'ReadModelDialect', 'ReadModelStore', 'ReadModelUnavailableError', 'ReadStreamForFoldOptions',
    'ReadStreamOptions', 'RebuildStatus', 'RebuildTimeoutError', 'RecordedEvent', 'RedriveParkedRequest',
    'RetryLaterError', 'RetryPolicy', 'RunnerStoppedError', 'SIGNATURE_HEADER', 'SlotLayout', 'SlotRecord',
    'SlotStatus', 'Snapshot', 'SnapshotPolicy', 'SnapshotStore', 'SqlDialect', 'SqlParameter', 'StateCache',
    'StoreCapabilities', 'StoreClosedError', 'StoreLocation', 'StoreNotChainedError', 'StoreUnavailableError', 'StoredEventShape',
    'StreamAlreadyExistsError', 'StreamExpectation', 'StreamFoldPage', 'StreamLifecycleHost', 'StreamLoaderEnvironment', 'StreamMetadata',
    'StreamNameParts', 'StreamNotFoundError', 'SubscribeToAllOptions', 'SubscribeToStreamOptions',
    'Subscription', 'SubscriptionMessage', 'TENANT_FIELD', 'TableDefinition', 'UnknownCommandError',
    'UnknownProjectionError', 'UnknownReactorError', 'UpcastEvent', 'Upcaster', 'ValidationError',
    'ValidationIssue', 'VerifyOptions', 'VerifyProgress', 'VerifyReport', 'VerifySignatureOptions', 'VersionedEvent', 'WaitForPositionTimeoutError',
    'WaitForStateTimeoutError', 'WaitOptions', 'WatchOptions', 'WebhookDeliveryError', 'WebhookReactor',
    'WebhookReactorOptions', 'Where', 'WorkerStatus', 'WrongExpectedRevisionError', 'archiveStreams', 'checkStreamProof', 'connectEventStore',
    'createHttpFunction', 'createLambdaHandler', 'decodeRecorded', 'defineAggregate', 'defineCollection',
    'defineCommands', 'defineEvents', 'defineProjection', 'defineReactor', 'defineWebhookReactor',
    'errorCategory', 'eventTime', 'exportStreamProof', 'fold', 'handleCommand', 'handleSignedDelivery', 'isStreamLifecycleHost', 'isValidTenantId',
    'loadAt', 'maxPosition', 'openArchive', 'parseConnectionString', 'parseDelivery', 'parseStreamName', 'partitionOf',
    'reactorCommandId', 'readCorrelation', 'readStreamForFold', 'resolveConnectionString', 'signDelivery',
    'silentLogger', 'splitTenantStream', 'tenantDocumentKey', 'tenantDocuments', 'tenantOfEvent',
    'tenantStreamName', 'toStreamName', 'upcastKnown', 'upcastRecorded', 'upcaster', 'verifySignature', 'verifyStore',
    'versioned',
  ],
  'eventfold/sqlite': [
    'SqliteAppendHookContext', 'SqliteEventStore', 'SqliteEventStoreOptions', 'SqliteReactorStateStore',
    'SqliteReadModelStore', 'SqliteReadModelStoreOptions', 'SqliteSnapshotStore', 'isSqliteAppendContext',
  ],
  'eventfold/postgres': [
    'PostgresAppendHookContext', 'PostgresEventStore', 'PostgresEventStoreOptions', 'PostgresQueryable',
    'PostgresReactorStateStore', 'PostgresReadModelStore', 'PostgresReadModelStoreOptions',
    'PostgresSnapshotStore', 'isPostgresAppendContext',
  ],
  'eventfold/eventstoredb': [
    'EventStoreDbEventStore',
  ],
  'eventfold/graphql': [
    'API_ERROR_CODES', 'API_SERVICES', 'AccessRule', 'AggregateCommand', 'Api', 'ApiContext', 'ApiError',
    'ApiErrorCode', 'ApiLimits', 'ApiLogger', 'ApiOptions', 'ApiServices', 'ApiUser', 'AuditEventView',
    'AuditableAggregate', 'AuthOptions', 'ClassType', 'CommandAuthorizer', 'CommandIntent',
    'CommandMutationDefinition', 'CommandMutationOptions', 'CommandMutations', 'CommandReceiptView',
    'Connection', 'DEFAULT_API_LIMITS', 'DocumentListQueryDefinition', 'DocumentQueryDefinition',
    'FieldIssue', 'ForbiddenError', 'GOING_AWAY_CLOSE_CODE', 'HttpApp', 'HttpHandler', 'LimitExceededError',
    'ListeningApi', 'LiveConnection', 'LiveQueryOptions', 'PageInfo', 'PageRequest', 'ParkedEventInfo',
    'ParkedEventsPage', 'ParkedEventsRequest', 'ProjectionTracker', 'ReactorAdmin', 'ReactorRedriveRequest',
    'ReactorStatusInfo', 'ReadModelSource', 'Readiness', 'SLOW_CONSUMER_CLOSE_CODE', 'TenancyOptions',
    'UnauthenticatedError', 'commandMutations', 'connectionType', 'createApi', 'documentListQuery',
    'documentListSubscription', 'documentQuery', 'documentSubscription', 'liveQuery', 'paginate',
    'requireAccess', 'requireTenant', 'sharedRead', 'tenantReader',
  ],
  'eventfold/testing': [
    'DeciderSpecificationOutcome', 'DeciderSpecificationWhen', 'ErrorClass', 'ExpectedError', 'Given',
    'IssuedEvent', 'ReactorScenario', 'ReactorVerification', 'ScenarioEvent', 'SpecificationError',
    'deciderSpecification', 'verifyReactor',
  ],
};

function exportedNames(): Record<string, string[]> {
  const files = Object.values(entryFiles).map((file) => path.join(root, file));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    experimentalDecorators: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const result: Record<string, string[]> = {};
  for (const [entry, file] of Object.entries(entryFiles)) {
    const source = program.getSourceFile(path.join(root, file));
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`${file} is not a module`);
    result[entry] = checker.getExportsOfModule(module).map((symbol) => symbol.name).sort();
  }
  return result;
}

describe('public API', () => {
  let actual: Record<string, string[]>;
  beforeAll(() => {
    actual = exportedNames();
  }, 120_000);

  it.each(Object.keys(entryFiles))('%s exports exactly the pinned names', (entry) => {
    expect(actual[entry]).toEqual(expected[entry]);
  });

  it('keeps internals out of every entry point', () => {
    const internals = ['readOn', 'jitteredDelay', 'toError', 'checkComplexity', 'limitRules', 'composeApi', 'formatApiError', 'commandMutation', 'isTransientError', 'lineDiff'];
    for (const names of Object.values(actual)) expect(names.filter((name) => internals.includes(name))).toEqual([]);
  });

  it('keeps the core free of GraphQL, drivers and test tooling', () => {
    for (const name of ['createApi', 'commandMutations', 'SqliteEventStore', 'PostgresEventStore', 'EventStoreDbEventStore', 'deciderSpecification']) {
      expect(actual.eventfold).not.toContain(name);
    }
  });
});
