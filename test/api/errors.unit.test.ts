import { GraphQLError } from 'graphql';
import { BusinessRuleError, CommandIdReusedError, ConcurrencyConflictError, DeciderFailedError, DocumentNotFoundError, MalformedStreamNameError, StoreUnavailableError, StreamAlreadyExistsError, StreamNotFoundError, ValidationError, WrongExpectedRevisionError } from '../../src';
import { ForbiddenError, UnauthenticatedError, API_ERROR_CODES } from '../../src/api';
import { formatApiError } from '../../src/api/errors';

/** What a resolver's thrown error looks like by the time the formatter sees it. */
function located(error: Error): GraphQLError {
  return new GraphQLError(error.message, { path: ['field'], originalError: error });
}

function format(error: Error, development = false) {
  const wrapped = located(error);
  return formatApiError(wrapped.toJSON(), wrapped, { development });
}

describe('the one error formatter', () => {
  const cases: [string, Error, string][] = [
    ['validation', new ValidationError('command OpenTicket', [{ path: 'data.title', message: 'Too small' }]), 'BAD_USER_INPUT'],
    ['stream name', new MalformedStreamNameError('x', 'has no id'), 'BAD_USER_INPUT'],
    ['reused command id', new CommandIdReusedError('c-1', 'ticket-1', 'other payload'), 'BAD_USER_INPUT'],
    ['conflict', new ConcurrencyConflictError('ticket-1', 4, new Error('raced')), 'CONFLICT'],
    ['wrong expected revision', new WrongExpectedRevisionError('ticket-1', 1n, 2n), 'CONFLICT'],
    ['already exists', new StreamAlreadyExistsError('ticket-1', 'OpenTicket', 0n), 'ALREADY_EXISTS'],
    ['not found', new StreamNotFoundError('ticket-1', 'CloseTicket'), 'NOT_FOUND'],
    ['document not found', new DocumentNotFoundError('tickets', 't-1'), 'NOT_FOUND'],
    ['unauthenticated', new UnauthenticatedError(), 'UNAUTHENTICATED'],
    ['forbidden', new ForbiddenError(), 'FORBIDDEN'],
    ['business rule', new BusinessRuleError('TICKET_CLOSED', 'closed'), 'DOMAIN_RULE'],
    ['store down', new StoreUnavailableError('connection refused to 10.0.0.1:5432', { cause: new Error('ECONNREFUSED') }), 'UNAVAILABLE'],
    ['decider bug', new DeciderFailedError('decide', 'OpenTicket', new Error('boom')), 'INTERNAL_SERVER_ERROR'],
    ['anything else', new Error('SELECT * FROM secrets'), 'INTERNAL_SERVER_ERROR'],
  ];

  it.each(cases)('maps %s to one of the listed codes', (_name, error, code) => {
    const formatted = format(error);
    expect(formatted.extensions?.code).toBe(code);
    expect(API_ERROR_CODES).toContain(formatted.extensions?.code);
    expect(formatted.extensions?.stacktrace).toBeUndefined();
    expect(formatted.path).toEqual(['field']);
  });

  it('names the failing fields and the rule, and hides internals outside development mode', () => {
    expect(format(cases[0]![1]).extensions).toEqual({ code: 'BAD_USER_INPUT', fields: [{ path: 'data.title', message: 'Too small' }] });
    expect(format(new BusinessRuleError('TICKET_CLOSED', 'the ticket is closed'))).toMatchObject({
      message: 'the ticket is closed',
      extensions: { code: 'DOMAIN_RULE', rule: 'TICKET_CLOSED' },
    });
    expect(format(new Error('SELECT * FROM secrets')).message).toBe('Internal server error');
    expect(format(new StoreUnavailableError('connection refused to 10.0.0.1:5432')).message).not.toContain('10.0.0.1');
    const development = format(new Error('SELECT * FROM secrets'), true);
    expect(development.message).toBe('SELECT * FROM secrets');
    expect(development.extensions?.stacktrace).toEqual(expect.arrayContaining([expect.stringContaining('SELECT * FROM secrets')]));
  });
});
