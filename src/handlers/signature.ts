import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidSignatureError } from './errors';

/** The header that carries a delivery's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'eventfold-signature';
/** The header that repeats the idempotency key (the event id), for platforms that log headers only. */
export const IDEMPOTENCY_HEADER = 'eventfold-idempotency-key';
/** Default replay window: a delivery signed more than this many seconds ago (or ahead) is refused. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Signs a delivery body: HMAC-SHA256 with `secret` over `<timestamp>.<body>`, as the value of the
 * `eventfold-signature` header. The timestamp is part of what is signed, so an old delivery cannot be
 * replayed with a fresh timestamp.
 *
 * @example
 * const header = signDelivery(process.env.WEBHOOK_SECRET!, body, Math.floor(Date.now() / 1000));
 */
export function signDelivery(secret: string, body: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, body)}`;
}

export interface VerifySignatureOptions {
  /** Default 300 s. */
  readonly toleranceSeconds?: number;
  /** Current unix time in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Checks a delivery's signature header against its raw body and the secret (or any of several
 * secrets, while rotating), and that it was signed within the replay window. Comparisons take constant
 * time.
 *
 * @example
 * verifySignature([currentSecret, previousSecret], request.headers['eventfold-signature'], rawBody);
 * @throws InvalidSignatureError when the header is missing or malformed, no secret matches, or the
 * timestamp is outside the window.
 */
export function verifySignature(
  secret: string | readonly string[],
  header: string | undefined,
  body: string,
  options: VerifySignatureOptions = {},
): void {
  if (typeof header !== 'string' || header.length === 0) throw new InvalidSignatureError(`the ${SIGNATURE_HEADER} header is missing`);
  const parts = new Map<string, string[]>();
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator <= 0) throw new InvalidSignatureError(`the ${SIGNATURE_HEADER} header is malformed`);
    const key = part.slice(0, separator).trim();
    parts.set(key, [...(parts.get(key) ?? []), part.slice(separator + 1).trim()]);
  }
  const timestampText = parts.get('t')?.[0];
  const signatures = parts.get('v1') ?? [];
  if (!timestampText || !/^\d{1,12}$/.test(timestampText) || signatures.length === 0) {
    throw new InvalidSignatureError(`the ${SIGNATURE_HEADER} header needs t=<unix seconds> and v1=<hex signature>`);
  }
  const timestamp = Number(timestampText);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = (options.now ?? Date.now)() / 1000;
  if (Math.abs(nowSeconds - timestamp) > tolerance) {
    throw new InvalidSignatureError(`the delivery was signed ${Math.round(nowSeconds - timestamp)} s ago, outside the ${tolerance} s window`);
  }
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0 || secrets.some((item) => typeof item !== 'string' || item.length === 0)) {
    throw new InvalidSignatureError('no secret is configured to verify deliveries');
  }
  for (const candidate of secrets) {
    const expected = Buffer.from(hmac(candidate, timestamp, body), 'hex');
    for (const signature of signatures) {
      const given = Buffer.from(signature, 'hex');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return;
    }
  }
  throw new InvalidSignatureError('the signature does not match the body');
}

function hmac(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
}
