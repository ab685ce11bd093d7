import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { errorCategory, type ErrorCategory } from '../internal/eventfold-error';
import { isTransientError } from '../projections/transient-error';

/** The only codes an API error can have in `extensions.code`. */
export type ApiErrorCode =
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'ALREADY_EXISTS'
  | 'NOT_FOUND'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'DOMAIN_RULE'
  | 'TIMEOUT'
  | 'UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR'
  | PersistedQueryErrorCode;

/**
 * The persisted-operation protocols' own codes, kept as they are because clients act on them: Apollo
 * Client and urql resend the full document on `PERSISTED_QUERY_NOT_FOUND`.
 */
export type PersistedQueryErrorCode = 'PERSISTED_QUERY_NOT_FOUND' | 'PERSISTED_QUERY_NOT_SUPPORTED' | 'QUERY_NOT_IN_SAFELIST';

export const API_ERROR_CODES: readonly ApiErrorCode[] = [
  'BAD_USER_INPUT',
  'CONFLICT',
  'ALREADY_EXISTS',
  'NOT_FOUND',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'DOMAIN_RULE',
  'TIMEOUT',
  'UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'QUERY_NOT_IN_SAFELIST',
];

/** One failing input field, as clients see it under `extensions.fields`. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * An error thrown by API code (resolvers, auth, limits) that already knows its GraphQL code.
 *
 * @example
 * throw new ApiError('FORBIDDEN', 'only the courier of this order can pick it up');
 */
export class ApiError extends GraphQLError {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    extensions: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { ...extensions, code } });
    this.name = 'ApiError';
  }
}

/** No valid credentials: a missing, malformed, expired or wrongly signed token. */
export class UnauthenticatedError extends ApiError {
  constructor(message = 'authentication required') {
    super('UNAUTHENTICATED', message);
  }
}

/** Valid credentials, but not allowed to do this. */
export class ForbiddenError extends ApiError {
  constructor(message = 'not allowed') {
    super('FORBIDDEN', message);
  }
}

/** A request over one of the configured limits (depth, complexity, aliases, body size, subscriptions). */
export class LimitExceededError extends ApiError {
  constructor(limit: string, message: string, details: Record<string, unknown> = {}) {
    super('BAD_USER_INPUT', message, { limit, ...details });
  }
}

/**
 * The GraphQL code of each error category. The switch is exhaustive: a new category is a compile error
 * here, so no kit error can fall through to `INTERNAL_SERVER_ERROR` unnoticed.
 *
 * @example
 * apiErrorCode(new StreamNotFoundError('order-1', 'ShipOrder').category); // 'NOT_FOUND'
 */
export function apiErrorCode(category: ErrorCategory): ApiErrorCode {
  switch (category) {
    case 'validation':
      return 'BAD_USER_INPUT';
    case 'conflict':
      return 'CONFLICT';
    case 'already-exists':
      return 'ALREADY_EXISTS';
    case 'not-found':
      return 'NOT_FOUND';
    case 'rule':
      return 'DOMAIN_RULE';
    case 'timeout':
      return 'TIMEOUT';
    case 'unavailable':
      return 'UNAVAILABLE';
    case 'internal':
      return 'INTERNAL_SERVER_ERROR';
    default: {
      const _never: never = category;
      return _never;
    }
  }
}

/** Apollo's and graphql-js' own request errors: about the request, so `BAD_USER_INPUT`. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** What the formatter decided about one error. */
interface Classified {
  readonly code: ApiErrorCode;
  /** Safe to show in production. */
  readonly message: string;
  readonly extensions: Record<string, unknown>;
}

/**
 * The one error formatter: maps any error a request can meet (domain, command, store, projection,
 * GraphQL validation, auth, limits) to one of {@link API_ERROR_CODES} in `extensions.code`, with the
 * failing fields (`BAD_USER_INPUT`) or the rule (`DOMAIN_RULE`). Stack traces, causes and the text of
 * unexpected errors (which may hold SQL) appear only in development mode.
 *
 * @example
 * new ApolloServer({ schema, formatError: (formatted, error) => formatApiError(formatted, error, { development: false }) });
 */
export function formatApiError(
  formatted: GraphQLFormattedError,
  error: unknown,
  options: { readonly development: boolean },
): GraphQLFormattedError {
  const original = unwrap(error);
  const classified = classify(formatted, original);
  const extensions: Record<string, unknown> = { ...classified.extensions, code: classified.code };
  if (options.development && original instanceof Error) {
    extensions.stacktrace = (original.stack ?? '').split('\n');
    if (original.cause !== undefined) extensions.cause = original.cause instanceof Error ? (original.cause.stack ?? original.cause.message) : JSON.stringify(original.cause);
  }
  return {
    message: classified.code === 'INTERNAL_SERVER_ERROR' && options.development && original instanceof Error ? original.message : classified.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions,
  };
}

/** The error behind GraphQL's wrapping (a resolver's thrown error is the `originalError`). */
function unwrap(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    if (current instanceof GraphQLError && current.originalError && !(current instanceof ApiError)) current = current.originalError;
    else break;
  }
  return current;
}

function classify(formatted: GraphQLFormattedError, error: unknown): Classified {
  if (error instanceof ApiError) {
    const { code: _code, ...rest } = error.extensions as Record<string, unknown>;
    return { code: error.code, message: error.message, extensions: rest };
  }
  const validationErrors = argumentValidationErrors(error);
  if (validationErrors) {
    return { code: 'BAD_USER_INPUT', message: 'Argument validation failed', extensions: { fields: validationErrors } };
  }
  const category = errorCategory(error);
  if (category) return classifyKitError(category, error as Error);
  const code = errorCode(error) ?? stringCode(formatted.extensions?.code);
  if (code && REQUEST_ERROR_CODES.has(code)) return { code: 'BAD_USER_INPUT', message: messageOf(error, formatted), extensions: {} };
  if (code && (API_ERROR_CODES as readonly string[]).includes(code) && code !== 'INTERNAL_SERVER_ERROR') {
    const { code: _code, stacktrace: _stacktrace, http: _http, ...rest } = (error instanceof GraphQLError ? error.extensions : {}) as Record<string, unknown>;
    return { code: code as ApiErrorCode, message: messageOf(error, formatted), extensions: rest };
  }
  return unexpected(error);
}

/** A kit error: its category decides the code; the category's own extensions ride along. */
function classifyKitError(category: ErrorCategory, error: Error): Classified {
  const code = apiErrorCode(category);
  switch (code) {
    case 'BAD_USER_INPUT': {
      const fields = fieldIssues(error);
      return { code, message: error.message, extensions: fields ? { fields } : {} };
    }
    case 'DOMAIN_RULE':
      return { code, message: error.message, extensions: { rule: (error as { rule?: unknown }).rule } };
    // The message may name a host or hold a driver's text: clients get a fixed one.
    case 'UNAVAILABLE':
      return { code, message: UNAVAILABLE_MESSAGE, extensions: {} };
    // An internal error may still stand on a store that went away (its cause): that is worth retrying.
    case 'INTERNAL_SERVER_ERROR':
      return unexpected(error);
    default:
      return { code, message: error.message, extensions: {} };
  }
}

const UNAVAILABLE_MESSAGE = 'a backing store is unavailable; try again later';

/** Anything the kit did not classify: a read model not created yet, a transient driver failure, or a bug. */
function unexpected(error: unknown): Classified {
  if (isMissingReadModel(error)) {
    return { code: 'UNAVAILABLE', message: 'the read model is not ready yet (its projection has not run); try again later', extensions: {} };
  }
  if (error instanceof Error && isTransientError(error)) return { code: 'UNAVAILABLE', message: UNAVAILABLE_MESSAGE, extensions: {} };
  return { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', extensions: {} };
}

/** A read model whose tables no projection has created yet (SQLite "no such table", PostgreSQL 42P01). */
function isMissingReadModel(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === '42P01' || (error.name === 'SqliteError' && error.message.startsWith('no such table'));
}

function messageOf(error: unknown, formatted: GraphQLFormattedError): string {
  return error instanceof Error ? error.message : formatted.message;
}

function errorCode(error: unknown): string | undefined {
  if (error instanceof GraphQLError) return stringCode(error.extensions.code);
  if (typeof error === 'object' && error !== null && 'code' in error) return stringCode((error).code);
  return undefined;
}

function stringCode(code: unknown): string | undefined {
  return typeof code === 'string' ? code : undefined;
}

function fieldIssues(error: unknown): FieldIssue[] | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const issues = (error as { issues?: unknown }).issues;
  if (!Array.isArray(issues)) return undefined;
  return issues.map((issue: { path?: unknown; message?: unknown }) => ({
    path: typeof issue.path === 'string' ? issue.path : '',
    message: typeof issue.message === 'string' ? issue.message : 'invalid',
  }));
}

/** type-graphql's class-validator failures: `{ property, constraints, children }` trees. */
function argumentValidationErrors(error: unknown): FieldIssue[] | undefined {
  if (!(error instanceof ArgumentValidationError)) return undefined;
  const errors = error.extensions.validationErrors;
  if (!Array.isArray(errors)) return undefined;
  return validatorIssues(errors, '');
}

/**
 * class-validator's error tree as field issues, paths prefixed (`input.title`).
 *
 * @example
 * validatorIssues(await validate(input), 'input'); // [{ path: 'input.title', message: 'title should not be empty' }]
 */
export function validatorIssues(errors: readonly ValidatorNode[], prefix: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const walk = (nodes: readonly ValidatorNode[], prefix: string): void => {
    for (const node of nodes) {
      const path = prefix ? `${prefix}.${node.property}` : node.property;
      for (const message of Object.values(node.constraints ?? {})) issues.push({ path, message });
      if (node.children?.length) walk(node.children, path);
    }
  };
  walk(errors, prefix);
  return issues;
}

/** The part of class-validator's `ValidationError` the formatter reads. */
export interface ValidatorNode {
  readonly property: string;
  readonly constraints?: Record<string, string>;
  readonly children?: readonly ValidatorNode[];
}
