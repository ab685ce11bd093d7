import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import { createAuthenticator } from '../../src/api/auth';

/** A local identity provider: publishes a JWKS on loopback and counts how often it is fetched. */
class LocalJwks {
  keys: JWK[] = [];
  fetches = 0;
  private readonly server: Server = createServer((_request, response) => {
    this.fetches++;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: this.keys }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function signingKey(kid: string, alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const ISSUER = 'https://idp.test';
const AUDIENCE = 'orders-api';

function sign(key: SigningKey, claims: Record<string, unknown> = {}, options: { issuer?: string; audience?: string; expires?: boolean } = {}): Promise<string> {
  const jwt = new SignJWT({ roles: ['agent'], ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setSubject('user-1')
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt();
  if (options.expires !== false) jwt.setExpirationTime('5m');
  return jwt.sign(key.privateKey);
}

describe('createAuthenticator with a JWKS URL (a local identity provider on loopback)', () => {
  const idp = new LocalJwks();
  let jwksUrl: string;
  beforeAll(async () => {
    jwksUrl = await idp.start();
  });
  afterAll(() => idp.close());

  it('accepts RS256 and ES256 tokens signed by published keys, with issuer and audience checked', async () => {
    const rsa = await signingKey('rsa-1', 'RS256');
    const ec = await signingKey('ec-1', 'ES256');
    idp.keys = [rsa.jwk, ec.jwk];
    const authenticate = createAuthenticator({ mode: 'jwt', jwksUrl, issuer: ISSUER, audience: AUDIENCE });
    const user = await authenticate(`Bearer ${await sign(rsa)}`);
    expect(user).toMatchObject({ id: 'user-1', roles: ['agent'] });
    expect(user?.expiresAt).toBeGreaterThan(Date.now());
    await expect(authenticate(`Bearer ${await sign(ec)}`)).resolves.toMatchObject({ id: 'user-1' });
    await expect(authenticate(`Bearer ${await sign(rsa, {}, { issuer: 'https://evil.test' })}`)).rejects.toMatchObject({
      message: 'the token was issued by another issuer',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    await expect(authenticate(`Bearer ${await sign(rsa, {}, { audience: 'another-api' })}`)).rejects.toMatchObject({
      message: 'the token is meant for another audience',
    });
  });

  it('follows key rotation: a token naming a new key id makes it fetch the set again; a retired key stops working', async () => {
    const old = await signingKey('2026-11', 'RS256');
    idp.keys = [old.jwk];
    const authenticate = createAuthenticator({ mode: 'jwt', jwksUrl, issuer: ISSUER, audience: AUDIENCE, jwks: { cooldownMs: 0 } });
    await expect(authenticate(`Bearer ${await sign(old)}`)).resolves.toMatchObject({ id: 'user-1' });
    const fetchesBefore = idp.fetches;

    const next = await signingKey('2026-12', 'RS256');
    idp.keys = [next.jwk]; // the provider rotates: the old key is retired
    await expect(authenticate(`Bearer ${await sign(next, { fresh: true })}`)).resolves.toMatchObject({ id: 'user-1' });
    expect(idp.fetches).toBeGreaterThan(fetchesBefore);
    await expect(authenticate(`Bearer ${await sign(old, { other: 1 })}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses a key the set does not publish, and a token signed with an algorithm that is not allowed', async () => {
    const published = await signingKey('published', 'RS256');
    const stranger = await signingKey('published', 'RS256'); // same kid, another key: a forgery
    idp.keys = [published.jwk];
    const rsOnly = createAuthenticator({ mode: 'jwt', jwksUrl, issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'] });
    await expect(rsOnly(`Bearer ${await sign(stranger)}`)).rejects.toMatchObject({ message: 'the token is invalid' });
    const ec = await signingKey('ec-allowed-elsewhere', 'ES256');
    idp.keys = [published.jwk, ec.jwk];
    await expect(rsOnly(`Bearer ${await sign(ec)}`)).rejects.toMatchObject({
      message: 'the token is signed with an algorithm this API does not accept',
    });
  });

  it('refuses a token without exp unless the option allows it', async () => {
    const key = await signingKey('no-exp', 'ES256');
    idp.keys = [key.jwk];
    const strict = createAuthenticator({ mode: 'jwt', jwksUrl, issuer: ISSUER, audience: AUDIENCE });
    const endless = `Bearer ${await sign(key, {}, { expires: false })}`;
    await expect(strict(endless)).rejects.toMatchObject({ message: 'the token has no expiry (exp)', extensions: { code: 'UNAUTHENTICATED' } });
    const lenient = createAuthenticator({ mode: 'jwt', jwksUrl, issuer: ISSUER, audience: AUDIENCE, allowTokensWithoutExpiry: true });
    const user = await lenient(endless);
    expect(user).toMatchObject({ id: 'user-1' });
    expect(user?.expiresAt).toBeUndefined();
  });
});

describe('createAuthenticator with a shared secret: algorithms', () => {
  const secret = 'a-shared-secret-that-is-long-enough-for-hs!';
  const encode = (text: string) => new TextEncoder().encode(text);

  it('accepts HS256 only by default: an HS512 token with the same secret is refused', async () => {
    const authenticate = createAuthenticator({ mode: 'jwt', secret });
    const hs256 = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setExpirationTime('5m').sign(encode(secret));
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('u').setExpirationTime('5m').sign(encode(secret));
    await expect(authenticate(`Bearer ${hs256}`)).resolves.toMatchObject({ id: 'u' });
    await expect(authenticate(`Bearer ${hs512}`)).rejects.toMatchObject({ message: 'the token is signed with an algorithm this API does not accept' });
    const both = createAuthenticator({ mode: 'jwt', secret, algorithms: ['HS256', 'HS512'] });
    await expect(both(`Bearer ${hs512}`)).resolves.toMatchObject({ id: 'u' });
  });

  it('refuses a configuration that allows no algorithm or "none"', () => {
    expect(() => createAuthenticator({ mode: 'jwt', secret, algorithms: [] })).toThrow(TypeError);
    expect(() => createAuthenticator({ mode: 'jwt', secret, algorithms: ['none'] })).toThrow(TypeError);
  });
});
