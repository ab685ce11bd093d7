import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { ApiUser } from './api-context';
import { UnauthenticatedError } from './errors';

/**
 * How callers prove who they are.
 *
 * - `jwt`: a bearer token (`Authorization: Bearer …` over HTTP, `connectionParams.authorization` in the
 *   WebSocket `connection_init`), verified with `jose` against a shared secret (HS256) or a JWKS URL.
 *   The subject (`sub`) is the user id; `roles` (or `rolesClaim`) the roles.
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
      /** Where the signing keys are published (RS256/ES256 etc.). */
      readonly jwksUrl?: string;
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

/**
 * The authenticator for the configured mode. A missing token is anonymous (operations then decide
 * whether they need a user); a malformed, expired or wrongly signed one is `UNAUTHENTICATED`.
 *
 * @example
 * const authenticate = createAuthenticator({ mode: 'jwt', secret });
 * const user = await authenticate(request.headers.authorization);
 */
export function createAuthenticator(options: AuthOptions): Authenticator {
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
  if (options.jwksUrl) key = createRemoteJWKSet(new URL(options.jwksUrl));
  else if (options.secret !== undefined) {
    key = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
    if (key.byteLength < 32) throw new TypeError('auth.secret must be at least 32 bytes for HS256');
  } else throw new TypeError("auth mode 'jwt' needs a secret or a jwksUrl");
  const rolesClaim = options.rolesClaim ?? 'roles';
  const tenantClaim = options.tenantClaim ?? 'tenantId';
  const verifyOptions = {
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
    clockTolerance: options.clockToleranceSeconds ?? 5,
  };
  return async (authorization) => {
    if (authorization === undefined || authorization === '') return undefined;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw new UnauthenticatedError('the authorization must be "Bearer <token>"');
    let payload: JWTPayload;
    try {
      payload =
        typeof key === 'function' ? (await jwtVerify(match[1]!, key, verifyOptions)).payload : (await jwtVerify(match[1]!, key, verifyOptions)).payload;
    } catch (error) {
      const reason = (error as { code?: unknown }).code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : 'the token is invalid';
      throw new UnauthenticatedError(reason);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new UnauthenticatedError('the token has no subject');
    const roles = payload[rolesClaim];
    const tenant = payload[tenantClaim];
    return {
      id: payload.sub,
      roles: Array.isArray(roles) ? roles.filter((role): role is string => typeof role === 'string') : [],
      ...(typeof tenant === 'string' ? { tenantId: tenant } : {}),
      claims: payload,
    };
  };
}
