import { EventfoldError } from '../internal/eventfold-error';
/**
 * Every failure the domain layer reports has one of these codes; callers (the API's error formatter,
 * tests) switch on `code`, never on message text.
 */
export type DomainErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNKNOWN_COMMAND'
  | 'INVALID_STREAM_NAME'
  | 'INVALID_STORED_EVENT'
  | 'INVALID_DECISION'
  | 'DECIDER_FAILED'
  | 'RULE_VIOLATED';

/** One failing field: where it is (`data.items[0].sku`) and what is wrong with it. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Base class of every domain error.
 *
 * @example
 * if (error instanceof DomainError && error.code === 'VALIDATION_FAILED') return badRequest(error.message);
 */
export abstract class DomainError extends EventfoldError {
  abstract override readonly code: DomainErrorCode;
}

/**
 * Input did not match its schema. `issues` names every failing field; so does the message.
 *
 * @example
 * catch (error) { if (error instanceof ValidationError) console.log(error.issues.map((issue) => issue.path)); }
 */
export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED' as const;
  readonly category = 'validation' as const;

  constructor(
    /** What was being checked, e.g. `command AddItem`. */
    readonly subject: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    super(`${subject} is invalid: ${formatIssues(issues)}`);
  }
}

/**
 * A command whose `type` the aggregate does not define.
 *
 * @example
 * catch (error) { if (error instanceof UnknownCommandError) console.log(error.knownTypes); }
 */
export class UnknownCommandError extends DomainError {
  readonly code = 'UNKNOWN_COMMAND' as const;
  readonly category = 'validation' as const;

  constructor(
    readonly commandType: string,
    readonly knownTypes: readonly string[],
  ) {
    super(`unknown command type ${JSON.stringify(commandType)}; expected one of ${knownTypes.join(', ')}`);
  }
}

/**
 * A stream name that is not `<category>-<id>` for the aggregate it was given to.
 *
 * @example
 * cart.parseStreamName('order-1'); // throws MalformedStreamNameError: belongs to category "order", not "cart"
 */
export class MalformedStreamNameError extends DomainError {
  readonly code = 'INVALID_STREAM_NAME' as const;
  readonly category = 'validation' as const;

  constructor(
    readonly streamName: string,
    reason: string,
  ) {
    super(`stream name ${JSON.stringify(streamName)} ${reason}`);
  }
}

/**
 * An event read back from the store does not fit its definition: unknown type, a version newer than the
 * code knows, an upcaster that failed, or data that fails the schema. Nothing is folded past it.
 *
 * @example
 * catch (error) { if (error instanceof InvalidStoredEventError) console.log(error.location, error.issues); }
 */
export class InvalidStoredEventError extends DomainError {
  readonly code = 'INVALID_STORED_EVENT' as const;
  readonly category = 'internal' as const;

  constructor(
    readonly eventType: string,
    /** Where the event sits, e.g. `cart-1@3`, when known. */
    readonly location: string | undefined,
    reason: string,
    readonly issues: readonly ValidationIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(
      `stored ${eventType} event${location ? ` at ${location}` : ''} ${reason}${issues.length ? `: ${formatIssues(issues)}` : ''}`,
      options,
    );
  }
}

/**
 * `decide` returned something other than an array of valid events; nothing was appended.
 *
 * @example
 * catch (error) { if (error instanceof InvalidDecisionError) console.log(error.issues); } // [{ path: '[0].data.sku', … }]
 */
export class InvalidDecisionError extends DomainError {
  readonly code = 'INVALID_DECISION' as const;
  readonly category = 'internal' as const;

  constructor(
    readonly commandType: string,
    reason: string,
    readonly issues: readonly ValidationIssue[] = [],
  ) {
    super(`decide(${commandType}) ${reason}${issues.length ? `: ${formatIssues(issues)}` : ''}`);
  }
}

/**
 * `decide` or `evolve` threw something that is not a {@link DomainError}: a bug in the decider, not a
 * rejected command. The original error is the `cause`.
 *
 * @example
 * catch (error) { if (error instanceof DeciderFailedError) report(error.cause); }
 */
export class DeciderFailedError extends DomainError {
  readonly code = 'DECIDER_FAILED' as const;
  readonly category = 'internal' as const;

  constructor(
    readonly phase: 'decide' | 'evolve',
    readonly messageType: string,
    cause: unknown,
  ) {
    super(`${phase}(${messageType}) threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * A command broke a business rule. Throw it (or a subclass) from `decide`; `rule` is a stable name
 * tests and clients can match on.
 *
 * @example
 * if (state.status === 'checkedOut') throw new BusinessRuleError('CART_CHECKED_OUT', `cart ${state.cartId} is checked out`);
 */
export class BusinessRuleError extends DomainError {
  readonly code = 'RULE_VIOLATED' as const;
  readonly category = 'rule' as const;

  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `a: must be a string; b[0].c: too small`.
 *
 * @example
 * formatIssues([{ path: 'data.sku', message: 'Required' }]); // 'data.sku: Required'
 */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
}
