// The JSON bodies of the errors the HTTP layer answers itself, before GraphQL runs: the fast path and
// the Express router send the same bytes, so a client cannot tell which one served it.

interface ErrorBody {
  readonly errors: readonly { readonly message: string; readonly extensions: Readonly<Record<string, unknown>> }[];
}

function errorBody(message: string, extensions: Record<string, unknown>): ErrorBody {
  return { errors: [{ message, extensions }] };
}

/** 503 while the API shuts down. */
export function shuttingDownBody(): ErrorBody {
  return errorBody('the server is shutting down', { code: 'UNAVAILABLE' });
}

/** 413 for a body over `limits.bodyLimit`. */
export function bodyTooLargeBody(bodyLimit: string | number): ErrorBody {
  return errorBody(`the request body exceeds the limit of ${String(bodyLimit)}`, { code: 'BAD_USER_INPUT', limit: 'bodySize', max: bodyLimit });
}

/** 400 for a body that is not JSON (or not an object or array), or that could not be read. */
export function malformedBodyBody(): ErrorBody {
  return errorBody('malformed request body', { code: 'BAD_USER_INPUT' });
}

/** 415 for a POST whose body is not JSON: a form or text a cross-site page could send without a preflight. */
export function unsupportedMediaTypeBody(): ErrorBody {
  return errorBody('a GraphQL POST must have the content type application/json', { code: 'BAD_USER_INPUT' });
}

/** 500 for a failure outside GraphQL; the details go to the log, never to the client. */
export function internalErrorBody(): ErrorBody {
  return errorBody('Internal server error', { code: 'INTERNAL_SERVER_ERROR' });
}

/** `limits.bodyLimit` in bytes: a number of bytes, or a size like body-parser's (`'100kb'`, `'1.5mb'`). */
export function bodyLimitBytes(limit: string | number): number {
  if (typeof limit === 'number') return limit;
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!match) throw new TypeError(`limits.bodyLimit ${JSON.stringify(limit)} is not a size like '100kb'`);
  const units: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
  return Math.floor(Number(match[1]) * units[(match[2] ?? 'b').toLowerCase()]!);
}
