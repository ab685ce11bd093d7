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
    'AppendOptions', 'AppendResult', 'Archive', 'ArchiveResult', 'ArchiveSelection', 'ArchiveShelf',
    'ArchiveUnavailableError', 'BatchCommit', 'BatchRequest', 'BatchTooLargeError', 'BusinessRuleError',
    'CachedState', 'ChainBreak', 'ChainBreakKind', 'ChainHead', 'ChangeFeed', 'ChangeListener',
    'CheckpointConflictError', 'Clock', 'CollectionDefinition', 'CollectionMap', 'CommandCatalog',
    'CommandDefinition', 'CommandEnvironment', 'CommandError', 'CommandErrorCode', 'CommandIdReusedError',
    'CommandOf', 'CommandReceipt', 'CommandRequest', 'CommandRetryPolicy', 'CommandSchemas', 'CommandsFrom',
    'ConcurrencyConflictError', 'ConnectOptions', 'DEFAULT_COMMAND_RETRY', 'DEFAULT_LIMITS',
    'DEFAULT_REACTOR_RETRY', 'DEFAULT_STORE', 'DEFAULT_TOLERANCE_SECONDS', 'Decider', 'DeciderFailedError',
    'DeleteStreamOptions', 'DeliveryInfo', 'DeliveryPayload', 'DeliveryResponse', 'Direction', 'DocumentKeys',
    'DocumentNotFoundError', 'DocumentOf', 'DocumentQuery', 'DocumentReader', 'DocumentWriter', 'DomainError',
    'DomainErrorCode', 'DuplicateEventIdError', 'ERROR_CATEGORIES', 'EngineStoppedError',
    'ErasureIncompleteError', 'ErrorCategory', 'EventCatalog', 'EventCatalogOptions', 'EventData',
    'EventFilter', 'EventImporter', 'EventMetadata', 'EventOf', 'EventSchemas', 'EventStore',
    'EventStoreBackend', 'EventStoreError', 'EventStoreErrorCode', 'EventStoreLimits', 'EventStoreReader',
    'EventStoreSubscriber', 'EventStoreWriter', 'EventfoldError', 'EventsFrom', 'ExpectedRevision',
    'FailedEvent', 'FoldEvent', 'ForgetReceipt', 'FromPosition', 'HandledEvent', 'HistoricState',
    'HttpFunction', 'HttpFunctionOptions', 'IDEMPOTENCY_HEADER', 'ImportCheckpoint', 'ImportConflictError',
    'ImportResult', 'ImportedEvent', 'InMemoryEventStore', 'InMemoryKeyStore', 'InMemoryReactorStateStore',
    'InMemoryReadModelStore', 'InMemorySnapshotStore', 'InMemoryTimerStore', 'IndexType', 'IndexValue',
    'InlineBatch', 'InlineProjectionFailedError', 'InvalidArgumentError', 'InvalidConnectionStringError',
    'InvalidDecisionError', 'InvalidDeliveryError', 'InvalidDocumentError', 'InvalidEventError',
    'InvalidIdentifierError', 'InvalidPositionError', 'InvalidProjectionError', 'InvalidQueryError',
    'InvalidReactorError', 'InvalidSignatureError', 'InvalidStoredEventError', 'InvalidStreamNameError',
    'InvalidSubjectError', 'Invocation', 'InvocationLogOptions', 'InvocationQuery', 'JsonObject', 'JsonValue',
    'KeyStore', 'KeyStoreHost', 'LambdaHttpEvent', 'LambdaHttpResult', 'LeaseGrant', 'LeaseInfo',
    'ListStreamsOptions', 'LogFn', 'Logger', 'MalformedStreamNameError', 'Message', 'MissingPackageError',
    'NO_STREAM_REVISION', 'NonRetryableError', 'PagedEventStoreOptions', 'ParkedEvent', 'ParkedEventRecord',
    'ParkedPage', 'ParkedQuery', 'PartitionOptions', 'PersonalDataError', 'PersonalDataErrorCode',
    'PersonalDataEvent', 'PersonalDataOptions', 'PersonalDataStore', 'PersonalDataUnreadableError',
    'PointInTime', 'Position', 'ProcessCommand', 'ProcessDecision', 'ProcessDefinition', 'ProcessEvent',
    'ProcessTimer', 'ProjectionChange', 'ProjectionDefinition', 'ProjectionEngine', 'ProjectionEngineOptions',
    'ProjectionError', 'ProjectionErrorCode', 'ProjectionErrorInfo', 'ProjectionEvent',
    'ProjectionEventSource', 'ProjectionFailedError', 'ProjectionFailure', 'ProjectionOptions',
    'ProjectionRecord', 'ProjectionState', 'ProjectionStatus', 'ProjectionTransaction',
    'ProjectionVersionConflictError', 'ProjectionWatcher', 'ProjectionWatcherOptions', 'ProofBatch',
    'ProofCheck', 'ProofEvent', 'ProofHeader', 'ProofLine', 'RECENT_COMMAND_LIMIT', 'Reactor',
    'ReactorCommand', 'ReactorContext', 'ReactorDefinition', 'ReactorError', 'ReactorErrorCode',
    'ReactorErrorInfo', 'ReactorEvent', 'ReactorHandler', 'ReactorLogger', 'ReactorOptions',
    'ReactorOrdering', 'ReactorRetryPolicy', 'ReactorRunner', 'ReactorRunnerOptions', 'ReactorStateStore',
    'ReactorStatus', 'ReactorVerificationError', 'ReactorWaitTimeoutError', 'ReadAllOptions',
    'ReadModelDialect', 'ReadModelStore', 'ReadModelUnavailableError', 'ReadStreamForFoldOptions',
    'ReadStreamOptions', 'RebuildStatus', 'RebuildTimeoutError', 'RecordedEvent', 'Redacted',
    'RedriveParkedRequest', 'RetryLaterError', 'RetryPolicy', 'RunnerStoppedError', 'SIGNATURE_HEADER',
    'SUBJECT_FORGOTTEN', 'ScheduleOptions', 'SlotLayout', 'SlotRecord', 'SlotStatus', 'Snapshot',
    'SnapshotPolicy', 'SnapshotStore', 'SqlDialect', 'SqlParameter', 'StateCache', 'StoreAdmin',
    'StoreCapabilities', 'StoreClosedError', 'StoreLocation', 'StoreNotChainedError', 'StoreStatistics',
    'StoreUnavailableError', 'StoredEventShape', 'StoredTimer', 'StreamAlreadyExistsError',
    'StreamExpectation', 'StreamFoldPage', 'StreamLifecycleHost', 'StreamLoaderEnvironment', 'StreamMetadata',
    'StreamNameParts', 'StreamNotFoundError', 'StreamSummary', 'SubjectKey', 'SubscribeToAllOptions',
    'SubscribeToStreamOptions', 'Subscription', 'SubscriptionMessage', 'TENANT_FIELD', 'TableDefinition',
    'TamperedStreamError', 'TimerChange', 'TimerOutcome', 'TimerPage', 'TimerProgressWriter', 'TimerQuery',
    'TimerRecord', 'TimerSettlement', 'TimerStatus', 'TimerStore', 'UnknownCommandError',
    'UnknownProjectionError', 'UnknownReactorError', 'UpcastEvent', 'Upcaster', 'ValidationError',
    'ValidationIssue', 'VerifyOptions', 'VerifyProgress', 'VerifyReport', 'VerifySignatureOptions',
    'VersionedEvent', 'WaitForPositionTimeoutError', 'WaitForStateTimeoutError', 'WaitOptions',
    'WatchOptions', 'WebhookDeliveryError', 'WebhookReactor', 'WebhookReactorOptions', 'Where',
    'WorkerStatus', 'WrongExpectedRevisionError', 'archiveFolder', 'archiveStreams', 'archiveStreamsToFile',
    'checkStreamProof', 'connectEventStore', 'createHttpFunction', 'createLambdaHandler', 'decodeRecorded',
    'defineAggregate', 'defineCollection', 'defineCommands', 'defineEvents', 'defineProcess',
    'defineProjection', 'defineReactor', 'defineWebhookReactor', 'errorCategory', 'eventImporterOf',
    'eventTime', 'exportStreamProof', 'fold', 'handleCommand', 'handleSignedDelivery', 'isRedacted',
    'isStreamLifecycleHost', 'isValidTenantId', 'keyStoreFor', 'loadAt', 'maxPosition', 'openArchive',
    'parseConnectionString', 'parseDelivery', 'parseStreamName', 'partitionOf', 'personal',
    'personalDataEvents', 'protectPersonalData', 'reactorCommandId', 'readCorrelation', 'readStreamForFold',
    'resolveConnectionString', 'signDelivery', 'silentLogger', 'splitTenantStream', 'storeAdminOf',
    'subjectStreamName', 'systemClock', 'tenantDocumentKey', 'tenantDocuments', 'tenantOfEvent',
    'tenantStreamName', 'timerCommandId', 'toStreamName', 'upcastKnown', 'upcastRecorded', 'upcaster',
    'verifySignature', 'verifyStore', 'versioned', 'withArchives',
  ],
  'eventfold/sqlite': [
    'SqliteAppendHookContext', 'SqliteEventStore', 'SqliteEventStoreOptions', 'SqliteKeyStore',
    'SqliteReactorStateStore', 'SqliteReadModelStore', 'SqliteReadModelStoreOptions', 'SqliteSnapshotStore',
    'SqliteTimerStore', 'isSqliteAppendContext',
  ],
  'eventfold/postgres': [
    'KeyErasure', 'PostgresAppendHookContext', 'PostgresEventStore', 'PostgresEventStoreOptions',
    'PostgresKeyStore', 'PostgresKeyStoreOptions', 'PostgresQueryable', 'PostgresReactorStateStore',
    'PostgresReadModelStore', 'PostgresReadModelStoreOptions', 'PostgresSnapshotStore', 'PostgresTimerStore',
    'isPostgresAppendContext',
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
    'FederatedEntity', 'FederationOptions', 'FieldIssue', 'ForbiddenError', 'GOING_AWAY_CLOSE_CODE',
    'HttpApp', 'HttpHandler', 'InvocationInfo', 'InvocationsRequest', 'LimitExceededError', 'ListeningApi',
    'LiveConnection', 'LiveQueryOptions', 'MetricsOptions', 'PageInfo', 'PageRequest', 'ParkedEventInfo',
    'ParkedEventsPage', 'ParkedEventsRequest', 'PersistedOperationManifest', 'PersistedQueryErrorCode',
    'ProjectionTracker', 'ReactorAdmin', 'ReactorRedriveRequest', 'ReactorStatusInfo', 'ReadModelSource',
    'Readiness', 'SLOW_CONSUMER_CLOSE_CODE', 'TenancyOptions', 'TimerInfo', 'TimersPage', 'TimersRequest',
    'UnauthenticatedError', 'commandMutations', 'connectionType', 'createApi', 'documentListQuery',
    'documentListSubscription', 'documentQuery', 'documentSubscription', 'liveQuery', 'paginate',
    'requireAccess', 'requireTenant', 'sharedRead', 'tenantReader',
  ],
  'eventfold/testing': [
    'DeciderSpecificationOutcome', 'DeciderSpecificationWhen', 'ErrorClass', 'ExpectedError', 'Given',
    'IssuedEvent', 'ManualClock', 'ProcessScenario', 'ReactorScenario', 'ReactorVerification',
    'ScenarioEvent', 'SpecificationError', 'deciderSpecification', 'verifyProcess', 'verifyReactor',
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
