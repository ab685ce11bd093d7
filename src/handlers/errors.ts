import { EventfoldError, toError } from '../internal/eventfold-error';
/** Every failure the reactor runtime reports has one of these codes; callers switch on `code`, never on text. */
export type ReactorErrorCode =
  | 'INVALID_REACTOR'
  | 'UNKNOWN_REACTOR'
  | 'NON_RETRYABLE'
  | 'RETRY_LATER'
  | 'WEBHOOK_FAILED'
  | 'INVALID_SIGNATURE'
  | 'INVALID_DELIVERY'
  | 'RUNNER_STOPPED'
  | 'WAIT_TIMEOUT'
  | 'REACTOR_VERIFICATION_FAILED';

/** Base class of every reactor error. */
export abstract class ReactorError extends EventfoldError {
  abstract override readonly code: ReactorErrorCode;
}

/**
 * A reactor definition or runner option that cannot work (bad name, empty filter, bad limits, two
 * reactors with one name). Thrown before anything runs.
 *
 * @example
 * defineReactor({ name: '', filter: {}, handle }); // throws InvalidReactorError
 */
export class InvalidReactorError extends ReactorError {
  readonly code = 'INVALID_REACTOR' as const;
  readonly category = 'internal' as const;
}

/**
 * A reactor name the runner does not run.
 *
 * @example
 * await runner.redrive({ reactor: 'nope', all: true }); // throws UnknownReactorError
 */
export class UnknownReactorError extends ReactorError {
  readonly code = 'UNKNOWN_REACTOR' as const;
  readonly category = 'internal' as const;

  constructor(readonly reactor: string) {
    super(`no reactor named "${reactor}" runs here`);
  }
}

/**
 * Thrown by a handler to say "retrying will not help" (bad data, a permanent refusal): the event is
 * parked at once with this error as its reason.
 *
 * @example
 * if (!isValidCard(event.data)) throw new NonRetryableError('card number is malformed');
 */
export class NonRetryableError extends ReactorError {
  readonly code = 'NON_RETRYABLE' as const;
  readonly category = 'internal' as const;
  readonly retryable = false;
}

/**
 * Thrown by a handler to ask for a retry no sooner than `retryAfterMs` (a rate limit, `Retry-After`).
 * It still counts as an attempt.
 *
 * @example
 * if (response.status === 429) throw new RetryLaterError('rate limited', { retryAfterMs: 2_000 });
 */
export class RetryLaterError extends ReactorError {
  readonly code = 'RETRY_LATER' as const;
  readonly category = 'internal' as const;
  readonly retryAfterMs: number;

  constructor(message: string, options: { retryAfterMs: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * A webhook delivery that failed: the HTTP status (or none for a timeout or a connection error) and
 * whether it will be retried.
 *
 * @example
 * const parked = await runner.listParked({ reactor: 'payment' });
 * console.log(parked[0]?.error.code); // 'WEBHOOK_FAILED'
 */
export class WebhookDeliveryError extends ReactorError {
  readonly code = 'WEBHOOK_FAILED' as const;
  readonly category = 'internal' as const;

  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }

  /** From the target's `Retry-After`, when it sent one. */
  readonly retryAfterMs: number | undefined;
}

/**
 * A signed delivery whose signature or timestamp does not check out (wrong secret, altered body, too
 * old or from the future).
 *
 * @example
 * verifySignature(secret, header, body); // throws InvalidSignatureError
 */
export class InvalidSignatureError extends ReactorError {
  readonly code = 'INVALID_SIGNATURE' as const;
  readonly category = 'internal' as const;
}

/**
 * A delivery body that is not a well-formed eventfold delivery.
 *
 * @example
 * parseDelivery('{"nope":1}'); // throws InvalidDeliveryError
 */
export class InvalidDeliveryError extends ReactorError {
  readonly code = 'INVALID_DELIVERY' as const;
  readonly category = 'internal' as const;
}

/**
 * The runner was stopped while the call waited.
 *
 * @example
 * await runner.stop(); await runner.redrive({ reactor: 'x', all: true }); // throws RunnerStoppedError
 */
export class RunnerStoppedError extends ReactorError {
  readonly code = 'RUNNER_STOPPED' as const;
  readonly category = 'internal' as const;

  constructor() {
    super('the reactor runner is stopped');
  }
}

/**
 * A wait for a reactor to reach a position did not finish in time.
 *
 * @example
 * await runner.waitForPosition('notify', position, { timeoutMs: 100 }); // may throw ReactorWaitTimeoutError
 */
export class ReactorWaitTimeoutError extends ReactorError {
  readonly code = 'WAIT_TIMEOUT' as const;
  readonly category = 'timeout' as const;
}

/**
 * `verifyReactor` found a delivery order (with duplicates) whose outcome differs from the in-order
 * run. The message has the seed to replay it, the deliveries and a diff.
 *
 * @example
 * await expect(verifyReactor(reactor, scenario)).rejects.toThrow(ReactorVerificationError);
 */
export class ReactorVerificationError extends ReactorError {
  readonly code = 'REACTOR_VERIFICATION_FAILED' as const;
  readonly category = 'internal' as const;

  constructor(
    message: string,
    readonly seed: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export { toError };

/** What is kept of a failure: its class name, code and message. */
export interface ReactorErrorInfo {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
}

export function errorInfo(value: unknown): ReactorErrorInfo {
  const error = toError(value);
  const code = (error as { code?: unknown }).code;
  return { name: error.name, ...(typeof code === 'string' ? { code } : {}), message: error.message };
}
