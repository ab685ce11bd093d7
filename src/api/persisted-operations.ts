import type { ApolloServerOptions } from '@apollo/server';
import { ApiError } from './errors';
import type { ApiContext } from './api-context';

type PersistedQueryCache = NonNullable<Exclude<ApolloServerOptions<ApiContext>['persistedQueries'], false | undefined>['cache']>;

/**
 * Operations approved at build time, by id: GraphQL Code Generator's persisted-documents format
 * (`{ "<sha256 of the document>": "<document>" }`), as its client preset writes it.
 *
 * @example
 * const manifest: PersistedOperationManifest = JSON.parse(readFileSync('persisted-documents.json', 'utf8'));
 * createApi({ ..., safelist: manifest });
 */
export type PersistedOperationManifest = Readonly<Record<string, string>>;

const APQ_PREFIX = 'apq:';

/** What a client is told when it sends an operation the safelist does not hold. */
export const NOT_IN_SAFELIST_MESSAGE = 'only operations from the safelist may run: send a listed document or its id (extensions.persistedQuery.sha256Hash)';

/** A checked manifest: the ids and texts that may run. */
export interface Safelist {
  /** The listed document with this id, if any. */
  byId(id: string): string | undefined;
  /** Whether this exact document text is listed. */
  has(query: string): boolean;
}

/**
 * Checks a manifest once, at start (ids and documents must be non-empty strings), and indexes it by id
 * and by text, so that refusing an operation is one map lookup, before any parsing.
 *
 * @example
 * const safelist = createSafelist({ [sha256(document)]: document });
 * safelist.has(document); // true
 */
export function createSafelist(manifest: PersistedOperationManifest): Safelist {
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new TypeError('safelist must be a persisted-documents manifest: an object of { id: document }');
  }
  const byId = new Map<string, string>();
  const texts = new Set<string>();
  for (const [id, document] of Object.entries(manifest)) {
    if (id === '' || typeof document !== 'string' || document.trim() === '') {
      throw new TypeError(`safelist entry ${JSON.stringify(id)} must map a non-empty id to a non-empty document`);
    }
    byId.set(id, document);
    texts.add(document);
  }
  if (byId.size === 0) throw new TypeError('safelist is empty: no operation could run');
  return { byId: (id) => byId.get(id), has: (query) => texts.has(query) };
}

/** The refusal of an operation that is not listed: `QUERY_NOT_IN_SAFELIST`, as Apollo Router names it. */
export function notInSafelist(): ApiError {
  return new ApiError('QUERY_NOT_IN_SAFELIST', NOT_IN_SAFELIST_MESSAGE);
}

/** The id an APQ client sends (`extensions.persistedQuery.sha256Hash`), if any. */
export function persistedQueryId(extensions: unknown): string | undefined {
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  const persisted = (extensions as { persistedQuery?: unknown }).persistedQuery;
  if (typeof persisted !== 'object' || persisted === null) return undefined;
  const hash = (persisted as { sha256Hash?: unknown }).sha256Hash;
  return typeof hash === 'string' ? hash : undefined;
}

/**
 * Apollo's APQ cache when a safelist is on: it holds exactly the manifest (a listed id is always
 * found, even on a fresh process) and registers nothing else.
 */
export function safelistCache(safelist: Safelist): PersistedQueryCache {
  return {
    // Apollo prefixes its APQ keys (`apq:<hash>`).
    get: (key: string) => Promise.resolve(safelist.byId(key.startsWith(APQ_PREFIX) ? key.slice(APQ_PREFIX.length) : key)),
    set: () => Promise.resolve(),
    delete: () => Promise.resolve(false),
  };
}

/**
 * Whether a GraphQL-over-HTTP request may run under the safelist, judged on its parsed JSON body (POST)
 * or its query string (GET) before anything is parsed: its `query` must be a listed text; without a
 * `query`, a listed id is found by Apollo's APQ cache (an unknown id gets `PERSISTED_QUERY_NOT_FOUND`,
 * and the client's retry with the text is refused here). A batch is allowed only if every entry is.
 */
export function listedRequest(safelist: Safelist, body: unknown): boolean {
  if (Array.isArray(body)) return body.every((entry) => listedRequest(safelist, entry));
  if (typeof body !== 'object' || body === null) return true;
  const query = (body as { query?: unknown }).query;
  if (query === undefined || query === null || query === '') return true;
  return typeof query === 'string' && safelist.has(query);
}

/** The HTTP answer to an operation the safelist does not hold: 400 with `QUERY_NOT_IN_SAFELIST`. */
export function notInSafelistBody(): { errors: { message: string; extensions: { code: string } }[] } {
  return { errors: [{ message: NOT_IN_SAFELIST_MESSAGE, extensions: { code: 'QUERY_NOT_IN_SAFELIST' } }] };
}
