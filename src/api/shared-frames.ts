import type { ExecutionResult } from 'graphql';

/**
 * One change pushed to N subscribers of the same document shares one result object (see
 * `subscribeShared`); this serialises that result once and hands every socket the same bytes, where
 * graphql-ws would spread, stringify and UTF-8 encode it once per subscriber.
 *
 * How it plugs into graphql-ws without forking its protocol code: `onNext` returns the result's
 * {@link SharedPayload}; graphql-ws stringifies `{ id, type: 'next', payload }`, and the payload's
 * `toJSON` writes a fixed marker in place of the data while noting itself as the payload being sent.
 * The transport's `send`, called synchronously right after (graphql-ws passes the string straight
 * on), finds the marker at the message's end and sends graphql-ws' own prefix (the `id`, as it
 * escaped it, and the type) followed by the payload's bytes, serialised once per result.
 */
export class SharedPayload {
  private json: string | undefined;
  private readonly frames = new Map<string, Buffer>();

  constructor(private readonly result: ExecutionResult) {}

  /** What graphql-ws serialises in the message's place: the marker (see {@link sharedMessage}). */
  toJSON(): string {
    sending.payload = this;
    return MARKER;
  }

  /** The whole `next` message for graphql-ws' `prefix` (`{"id":…,"type":"next"`), as bytes. */
  frame(prefix: string): Buffer {
    const known = this.frames.get(prefix);
    if (known) return known;
    // The same payload graphql-ws would send: the result without an undefined `errors` key, errors as JSON.
    this.json ??= JSON.stringify(payloadOf(this.result));
    const frame = Buffer.from(`${prefix},"payload":${this.json}}`);
    // Subscribers that chose the same operation id (most clients number them from 1) share the very
    // same bytes; distinct ids cost one concatenation each, and only a few are kept.
    if (this.frames.size < FRAMES_KEPT_PER_PAYLOAD) this.frames.set(prefix, frame);
    return frame;
  }
}

/** How many distinct message prefixes (operation ids) one payload keeps built frames for. */
const FRAMES_KEPT_PER_PAYLOAD = 16;

/** A string no result's JSON can end a message with: graphql-ws' payload is an object, never a string. */
const MARKER = '\u0000eventfold-shared-payload';
const MARKED_TAIL = `,"payload":${JSON.stringify(MARKER)}}`;

/** The payload whose marker was serialised last and not yet sent. */
const sending: { payload: SharedPayload | undefined } = { payload: undefined };

const payloads = new WeakMap<ExecutionResult, SharedPayload>();

/** The shared payload of a result: the same object for every subscriber that was handed the same result. */
export function sharedPayload(result: ExecutionResult): SharedPayload {
  let payload = payloads.get(result);
  if (!payload) payloads.set(result, (payload = new SharedPayload(result)));
  return payload;
}

/**
 * The bytes to send for a message that graphql-ws serialised, when it carries a {@link SharedPayload}'s
 * marker; `undefined` for any other message (sent as it is).
 */
export function sharedMessage(message: string): Buffer | undefined {
  const payload = sending.payload;
  sending.payload = undefined;
  if (!message.endsWith(MARKED_TAIL)) return undefined;
  // Serialisation and send are one synchronous step in graphql-ws; anything else is a broken assumption.
  if (!payload) throw new Error('a shared payload marker without its payload (graphql-ws changed how it sends messages)');
  return payload.frame(message.slice(0, message.length - MARKED_TAIL.length));
}

function payloadOf(result: ExecutionResult): object {
  const { errors, ...rest } = result;
  return errors ? { ...rest, errors: errors.map((error) => error.toJSON()) } : rest;
}
