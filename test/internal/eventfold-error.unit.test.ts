import { GraphQLError } from 'graphql';
import * as core from '../../src';
import * as graphqlEntry from '../../src/api';
import * as testingEntry from '../../src/testing';
import { API_ERROR_CODES, formatApiError } from '../../src/api/errors';
import { apiErrorCode } from '../../src/api/errors';
import { ERROR_CATEGORIES, EventfoldError, errorCategory, type ErrorCategory } from '../../src';

const position = core.Position.of(1n, 1n);

/** One instance of every concrete kit error the entries export. A class missing here fails the first test. */
const samples: Error[] = [
  new core.ValidationError('command X', [{ path: 'data.a', message: 'Required' }]),
  new core.UnknownCommandError('X', ['Y']),
  new core.MalformedStreamNameError('x', 'has no id'),
  new core.InvalidStoredEventError('X', 'x-1@0', 'is unknown'),
  new core.InvalidDecisionError('X', 'returned a non-array'),
  new core.DeciderFailedError('decide', 'X', new Error('boom')),
  new core.BusinessRuleError('RULE', 'refused'),
  new core.WrongExpectedRevisionError('x-1', 1n, 2n),
  new core.InvalidStreamNameError('bad name'),
  new core.InvalidEventError(0, 'id', 'is empty'),
  new core.BatchTooLargeError('too many'),
  new core.InvalidPositionError('bad position'),
  new core.InvalidArgumentError('bad argument'),
  new core.InvalidConnectionStringError('bad url'),
  new core.DuplicateEventIdError('e-1', 'used in x-2'),
  new core.StoreClosedError(),
  new core.StoreUnavailableError('down'),
  new core.MissingPackageError('pg', 'eventfold/postgres'),
  new core.StreamAlreadyExistsError('x-1', 'X', 0n),
  new core.StreamNotFoundError('x-1', 'X'),
  new core.ConcurrencyConflictError('x-1', 4, new Error('raced')),
  new core.CommandIdReusedError('c-1', 'x-1', 'other payload'),
  new core.InvalidProjectionError('bad projection'),
  new core.InvalidIdentifierError('bad identifier'),
  new core.InvalidDocumentError('bad document'),
  new core.InvalidQueryError('bad query'),
  new core.DocumentNotFoundError('orders', 'o-1'),
  new core.UnknownProjectionError('nope'),
  new core.ProjectionFailedError('p', 'poison event'),
  new core.ProjectionVersionConflictError('p', 1, 2),
  new core.CheckpointConflictError('moved'),
  new core.WaitForPositionTimeoutError('p', position, 10, undefined),
  new core.WaitForStateTimeoutError('p', 'running', 10, 'stopped'),
  new core.RebuildTimeoutError('p', 10),
  new core.ReadModelUnavailableError('down'),
  new core.EngineStoppedError(),
  new core.InlineProjectionFailedError('p', new Error('refused')),
  new core.InvalidReactorError('bad reactor'),
  new core.UnknownReactorError('nope'),
  new core.NonRetryableError('permanent'),
  new core.RetryLaterError('rate limited', { retryAfterMs: 10 }),
  new core.WebhookDeliveryError('502', 502, true),
  new core.InvalidSignatureError('bad signature'),
  new core.InvalidDeliveryError('bad delivery'),
  new core.RunnerStoppedError(),
  new core.ReactorWaitTimeoutError('late'),
  new core.ReactorVerificationError('differs', 1),
  new core.ImportConflictError('x-1', 3n, 'the target holds another event at x-1@3'),
  new core.InvalidSubjectError('the subject id is empty'),
  new core.PersonalDataUnreadableError('e-1', 'customerName'),
  new core.ErasureIncompleteError('the WAL is busy'),
  new core.StoreNotChainedError('the eventstoredb store keeps no hash chain to verify'),
  new core.TamperedStreamError('order-1', 3n, 'the hash of order-1@3 does not match its content'),
  new core.ArchiveUnavailableError('archive-1.ndjson.gz', 'the archive is missing'),
];

/** The family bases: abstract, so never thrown themselves. */
const familyBases = new Set<unknown>([EventfoldError, core.DomainError, core.EventStoreError, core.CommandError, core.ProjectionError, core.ReactorError, core.PersonalDataError]);

type ErrorClass = abstract new (...args: never[]) => Error;

function exportedKitErrorClasses(): ErrorClass[] {
  const classes = new Set<ErrorClass>();
  for (const entry of [core, graphqlEntry, testingEntry]) {
    for (const value of Object.values(entry)) {
      if (typeof value === 'function' && (value as { prototype?: unknown }).prototype instanceof EventfoldError && !familyBases.has(value)) {
        classes.add(value as ErrorClass);
      }
    }
  }
  return [...classes];
}

describe('the one error base', () => {
  it('has a sample of every concrete error class the entries export, and no extra one', () => {
    const sampled = new Set<unknown>(samples.map((sample) => sample.constructor));
    const exported = exportedKitErrorClasses();
    expect(exported.filter((cls) => !sampled.has(cls)).map((cls) => cls.name)).toEqual([]);
    expect(samples.filter((sample) => !exported.includes(sample.constructor as ErrorClass)).map((sample) => sample.constructor.name)).toEqual([]);
  });

  it.each(samples.map((sample) => [sample.constructor.name, sample] as const))('%s is an EventfoldError with a code and a known category', (_name, sample) => {
    expect(sample).toBeInstanceOf(EventfoldError);
    const error = sample as EventfoldError;
    expect(error.name).toBe(sample.constructor.name);
    expect(error.code).toMatch(/^[A-Z_]+$/);
    expect(ERROR_CATEGORIES).toContain(error.category);
    expect(errorCategory(error)).toBe(error.category);
  });

  it('recognises a kit error from another copy of the kit by its shape, and nothing else', () => {
    const foreign = Object.assign(new Error('down'), { code: 'STORE_UNAVAILABLE', category: 'unavailable' });
    expect(errorCategory(foreign)).toBe('unavailable');
    expect(errorCategory(Object.assign(new Error('x'), { category: 'bogus' }))).toBeUndefined();
    expect(errorCategory({ category: 'unavailable' })).toBeUndefined();
    expect(errorCategory(new Error('plain'))).toBeUndefined();
  });
});

describe('the category → GraphQL code mapping', () => {
  const expected: Record<ErrorCategory, string> = {
    validation: 'BAD_USER_INPUT',
    conflict: 'CONFLICT',
    'already-exists': 'ALREADY_EXISTS',
    'not-found': 'NOT_FOUND',
    rule: 'DOMAIN_RULE',
    timeout: 'TIMEOUT',
    unavailable: 'UNAVAILABLE',
    internal: 'INTERNAL_SERVER_ERROR',
  };

  it.each(ERROR_CATEGORIES.map((category) => [category]))('maps %s to its listed API code', (category) => {
    expect(apiErrorCode(category)).toBe(expected[category]);
    expect(API_ERROR_CODES).toContain(apiErrorCode(category));
  });

  it.each(samples.map((sample) => [sample.constructor.name, sample] as const))('formats %s with the code of its category', (_name, sample) => {
    const wrapped = new GraphQLError(sample.message, { path: ['field'], originalError: sample });
    const formatted = formatApiError(wrapped.toJSON(), wrapped, { development: false });
    expect(formatted.extensions?.code).toBe(apiErrorCode((sample as EventfoldError).category));
  });

  it('still calls an internal error that stands on a store that went away UNAVAILABLE', () => {
    const error = new core.InlineProjectionFailedError('p', new core.StoreUnavailableError('down'));
    const wrapped = new GraphQLError(error.message, { originalError: error });
    expect(formatApiError(wrapped.toJSON(), wrapped, { development: false }).extensions?.code).toBe('UNAVAILABLE');
  });
});
