import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { ApiUser } from './api-context';
import { UnauthenticatedError } from './errors';

/**
 * How callers prove who they are.
 *
 * - `jwt`: a bearer token (`Authorization: Bearer …` over HTTP, `connectionParams.authorization` in the
 *   WebSocket `connection_init`), verified with `jose` against a shared secret (HS256) or the keys an
 *   identity provider publishes at a JWKS URL (RS256, ES256; rotated keys are fetched when a token names
 *   a key id not seen yet). Only the configured `algorithms` are accepted, and a token must carry `exp`
 *   unless `allowTokensWithoutExpiry` says otherwise. The subject (`sub`) is the user id; `roles` (or
 *   `rolesClaim`) the roles.
 * - `off`: local development only. Every caller is `developmentUser`; the server logs a loud warning
 *   at startup.
 *
 * @example
 * auth: { mode: 'jwt', secret: process.env.JWT_SECRET!, issuer: 'https://auth.example.com', audience: 'orders-api' }
 */
export type AuthOptions =
  | {
      readonly mode: 'jwt';
      /** HS256 shared secret (at least 32 bytes). */
      readonly secret?: string | Uint8Array;
      /** Where the signing keys are published (a JWKS document, e.g. `https://idp.example.com/.well-known/jwks.json`). */
      readonly jwksUrl?: string;
      /** How the key set is fetched: wait before refetching on an unknown key id (default 30 s), cache age (10 min), timeout (5 s). */
      readonly jwks?: { readonly cooldownMs?: number; readonly cacheMaxAgeMs?: number; readonly timeoutMs?: number };
      /** Signing algorithms accepted; default `['HS256']` with a secret, `['RS256', 'ES256']` with a JWKS URL. */
      readonly algorithms?: readonly string[];
      /** Accept tokens that never expire (no `exp` claim). Default false: such a token is refused. */
      readonly allowTokensWithoutExpiry?: boolean;
      readonly issuer?: string;
      readonly audience?: string;
      /** The claim holding the roles; default `roles`. */
      readonly rolesClaim?: string;
      /** The claim holding the tenant; default `tenantId`. */
      readonly tenantClaim?: string;
      /** Allowed clock skew in seconds; default 5. */
      readonly clockToleranceSeconds?: number;
    }
  | {
      readonly mode: 'off';
      /** Who every request acts as; default `{ id: 'dev', roles: ['admin'] }`. */
      readonly developmentUser?: { readonly id: string; readonly roles: readonly string[]; readonly tenantId?: string };
    };

/** Turns a presented token (or none) into a user: `undefined` for anonymous callers. */
export type Authenticator = (authorization: string | undefined) => Promise<ApiUser | undefined>;

/** Verified tokens kept per authenticator, and for how long at most (ms). */
const TOKEN_CACHE_SIZE = 10_000;
const TOKEN_CACHE_MS = 60_000;

/**
 * The authenticator for the configured mode. A missing token is anonymous (operations then decide
 * whether they need a user); a malformed, expired or wrongly signed one is `UNAUTHENTICATED`.
 *
 * A verified token is remembered (by its exact text, at most 60 s, at most 10,000 tokens), because
 * clients send the same token with every request and checking its signature is most of the cost of a
 * small request. A remembered token is checked against its `exp` again on every use, so it expires on
 * time; a key removed from a JWKS stops being honoured within 60 s. Refused tokens are not remembered.
 * `clock` (ms since the epoch) is for tests.
 *
 * @example
 * const authenticate = createAuthenticator({ mode: 'jwt', secret });
 * const user = await authenticate(request.headers.authorization);
 */
export function createAuthenticator(options: AuthOptions, clock: () => number = Date.now): Authenticator {
  if (options.mode === 'off') {
    const user: ApiUser = {
      id: options.developmentUser?.id ?? 'dev',
      roles: options.developmentUser?.roles ?? ['admin'],
      ...(options.developmentUser?.tenantId !== undefined ? { tenantId: options.developmentUser.tenantId } : {}),
      claims: {},
    };
    return () => Promise.resolve(user);
  }
  let key: Uint8Array | JWTVerifyGetKey;
  if (options.jwksUrl) {
    key = createRemoteJWKSet(new URL(options.jwksUrl), {
      ...(options.jwks?.cooldownMs !== undefined ? { cooldownDuration: options.jwks.cooldownMs } : {}),
      ...(options.jwks?.cacheMaxAgeMs !== undefined ? { cacheMaxAge: options.jwks.cacheMaxAgeMs } : {}),
      ...(options.jwks?.timeoutMs !== undefined ? { timeoutDuration: options.jwks.timeoutMs } : {}),
    });
  } else if (options.secret !== undefined) {
    key = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
    if (key.byteLength < 32) throw new TypeError('auth.secret must be at least 32 bytes for HS256');
  } else throw new TypeError("auth mode 'jwt' needs a secret or a jwksUrl");
  const rolesClaim = options.rolesClaim ?? 'roles';
  const tenantClaim = options.tenantClaim ?? 'tenantId';
  const algorithms = [...(options.algorithms ?? (options.jwksUrl ? ['RS256', 'ES256'] : ['HS256']))];
  if (algorithms.length === 0 || algorithms.some((algorithm) => typeof algorithm !== 'string' || algorithm === 'none')) {
    throw new TypeError('auth.algorithms must name at least one signing algorithm, and never "none"');
  }
  const verifyOptions = {
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
    algorithms,
    ...(options.allowTokensWithoutExpiry ? {} : { requiredClaims: ['exp'] }),
    clockTolerance: options.clockToleranceSeconds ?? 5,
  };
  const verified = new Map<string, { readonly user: ApiUser; readonly exp: number | undefined; readonly until: number }>();
  return async (authorization) => {
    if (authorization === undefined || authorization === '') return undefined;
    const cached = verified.get(authorization);
    if (cached) {
      const now = clock();
      // jose's rule: expired when exp <= now - tolerance (whole seconds).
      const expired = cached.exp !== undefined && cached.exp <= Math.floor(now / 1000) - verifyOptions.clockTolerance;
      if (!expired && now < cached.until) return cached.user;
      verified.delete(authorization);
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw new UnauthenticatedError('the authorization must be "Bearer <token>"');
    let payload: JWTPayload;
    try {
      const checks = { ...verifyOptions, currentDate: new Date(clock()) };
      payload = typeof key === 'function' ? (await jwtVerify(match[1]!, key, checks)).payload : (await jwtVerify(match[1]!, key, checks)).payload;
    } catch (error) {
      throw new UnauthenticatedError(refusal(error));
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new UnauthenticatedError('the token has no subject');
    const roles = payload[rolesClaim];
    const tenant = payload[tenantClaim];
    // Frozen: one remembered user serves many requests.
    const user: ApiUser = Object.freeze({
      id: payload.sub,
      roles: Object.freeze(Array.isArray(roles) ? roles.filter((role): role is string => typeof role === 'string') : []),
      ...(typeof tenant === 'string' ? { tenantId: tenant } : {}),
      ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 + verifyOptions.clockTolerance * 1000 } : {}),
      claims: Object.freeze(payload),
    });
    // Bounded: the oldest entry goes first (Map keeps insertion order).
    if (verified.size >= TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
    verified.set(authorization, { user, exp: typeof payload.exp === 'number' ? payload.exp : undefined, until: clock() + TOKEN_CACHE_MS });
    return user;
  };
}

/** Why jose refused a token, in words a client may see (never which key or secret was tried). */
function refusal(error: unknown): string {
  const { code, claim } = error as { code?: unknown; claim?: unknown };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token is signed with an algorithm this API does not accept';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'exp') return 'the token has no expiry (exp)';
      if (claim === 'iss') return 'the token was issued by another issuer';
      if (claim === 'aud') return 'the token is meant for another audience';
      return 'the token is invalid';
    default:
      return 'the token is invalid';
  }
}
