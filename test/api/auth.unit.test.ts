import { SignJWT } from 'jose';
import { createAuthenticator } from '../../src/api/auth';

const SECRET = 'a-unit-test-secret-that-is-long-enough!!';

function sign(claims: Record<string, unknown>, expiresAtSeconds: number, secret = SECRET): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('u-1')
    .setIssuedAt(expiresAtSeconds - 3_600)
    .setExpirationTime(expiresAtSeconds)
    .sign(new TextEncoder().encode(secret));
}

describe('createAuthenticator (jwt): remembered tokens', () => {
  const start = Date.UTC(2030, 0, 1);

  it('a remembered token is still refused once it expires (exp checked again on every use, with the clock tolerance)', async () => {
    let now = start;
    const authenticate = createAuthenticator({ mode: 'jwt', secret: SECRET }, () => now);
    const token = `Bearer ${await sign({ roles: ['agent'] }, start / 1000 + 10)}`;
    await expect(authenticate(token)).resolves.toMatchObject({ id: 'u-1', roles: ['agent'] });
    now = start + 14_000; // within the 5 s tolerance
    await expect(authenticate(token)).resolves.toMatchObject({ id: 'u-1' });
    now = start + 15_000;
    await expect(authenticate(token)).rejects.toMatchObject({ message: 'the token has expired', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('the same user object serves repeated requests, frozen so that no request can change it for the others', async () => {
    const authenticate = createAuthenticator({ mode: 'jwt', secret: SECRET }, () => start);
    const token = `Bearer ${await sign({ roles: ['agent'] }, start / 1000 + 3_600)}`;
    const first = await authenticate(token);
    const second = await authenticate(token);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first!.roles)).toBe(true);
    expect(Object.isFrozen(first!.claims)).toBe(true);
  });

  it('a refused token is not remembered, and a token signed with another secret is refused even after a valid one', async () => {
    const authenticate = createAuthenticator({ mode: 'jwt', secret: SECRET }, () => start);
    const forged = `Bearer ${await sign({ roles: ['admin'] }, start / 1000 + 3_600, 'another-secret-that-is-long-enough-too!!')}`;
    await authenticate(`Bearer ${await sign({ roles: ['agent'] }, start / 1000 + 3_600)}`);
    await expect(authenticate(forged)).rejects.toMatchObject({ message: 'the token is invalid' });
    await expect(authenticate(forged)).rejects.toMatchObject({ message: 'the token is invalid' });
  });

  it('a remembered token is verified again after 60 s (a key dropped from a JWKS stops counting)', async () => {
    let now = start;
    const authenticate = createAuthenticator({ mode: 'jwt', secret: SECRET }, () => now);
    const token = `Bearer ${await sign({}, start / 1000 + 3_600)}`;
    const first = await authenticate(token);
    now = start + 59_999;
    expect(await authenticate(token)).toBe(first);
    now = start + 60_000;
    const again = await authenticate(token);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
