import type { CliContext } from './cli-context';
import { CliExit, EXIT_USAGE } from './exit-codes';

/** Where the running app's GraphQL API is, and the admin's token. */
export interface ApiTarget {
  readonly url: string;
  readonly token: string | undefined;
}

/** `--api`, else `EVENTFOLD_API`; `--token`, else `EVENTFOLD_TOKEN`. */
export function apiTarget(context: CliContext, options: { api?: string; token?: string }): ApiTarget {
  const url = options.api ?? context.env.EVENTFOLD_API?.trim();
  if (!url) throw new CliExit(EXIT_USAGE, "no API given: pass --api <url> (the app's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql) or set EVENTFOLD_API");
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new CliExit(EXIT_USAGE, `--api must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  return { url, token: options.token ?? (context.env.EVENTFOLD_TOKEN?.trim() || undefined) };
}

const TIMEOUT_MS = 30_000;

/**
 * One GraphQL operation against the admin API. An unreachable API, a refused token, a missing role or
 * an unknown name all end the run with exit code 2 and the server's code and message.
 */
export async function adminRequest<Data>(target: ApiTarget, query: string, variables: Record<string, unknown> = {}): Promise<Data> {
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CliExit(EXIT_USAGE, `cannot reach the API at ${target.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  let body: { data?: Data | null; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new CliExit(EXIT_USAGE, `the API at ${target.url} answered HTTP ${response.status} without a GraphQL body`);
  }
  if (body.errors?.length) {
    const text = body.errors.map((error) => `${error.extensions?.code ?? 'ERROR'}: ${error.message}`).join('; ');
    throw new CliExit(EXIT_USAGE, `the API refused: ${text}`);
  }
  if (!body.data) throw new CliExit(EXIT_USAGE, `the API at ${target.url} answered HTTP ${response.status} with no data`);
  return body.data;
}
