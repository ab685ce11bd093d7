import { InvalidIdentifierError } from './errors';

/**
 * Names that become SQL identifiers: lowercase ASCII, digits and underscores, starting with a letter.
 * Lowercase only, because PostgreSQL folds unquoted names and a mixed-case name would mean one thing
 * quoted and another unquoted in users' hand-written SQL.
 */
const IDENTIFIER = /^[a-z][a-z0-9_]*$/;
/** PostgreSQL truncates identifiers beyond 63 bytes, which would silently merge two names. */
export const MAX_IDENTIFIER_LENGTH = 63;

/** Names the engine itself uses; a collection or table with one of these names would collide. */
const RESERVED_PREFIX = 'eventfold_';

/**
 * Checks a name from a definition that will be used as a table, view or column name.
 *
 * @example
 * validateIdentifier('order_summaries', 'collection'); // ok
 * validateIdentifier('orders; DROP TABLE x', 'collection'); // throws InvalidIdentifierError
 * @throws InvalidIdentifierError when the name is not a safe identifier.
 */
export function validateIdentifier(name: unknown, what: string): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new InvalidIdentifierError(
      `${what} name ${JSON.stringify(name)} must be lowercase letters, digits and underscores, starting with a letter`,
    );
  }
  if (name.length > MAX_IDENTIFIER_LENGTH) {
    throw new InvalidIdentifierError(`${what} name "${name}" is longer than ${MAX_IDENTIFIER_LENGTH} characters`);
  }
  if (name.startsWith(RESERVED_PREFIX)) {
    throw new InvalidIdentifierError(`${what} name "${name}" uses the reserved prefix "${RESERVED_PREFIX}"`);
  }
  return name;
}

/**
 * Quotes an already validated identifier. Quoting on top of validation keeps SQL keywords such as
 * `order` usable as names.
 */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name) || name.length > MAX_IDENTIFIER_LENGTH) {
    throw new InvalidIdentifierError(`refusing to quote unvalidated identifier ${JSON.stringify(name)}`);
  }
  return `"${name}"`;
}

/** Document fields keep their JSON spelling (`customerId`); as column names they are always quoted. */
const FIELD = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Checks an indexed document field, which becomes a quoted column name.
 *
 * @example
 * validateFieldName('customerId'); // ok
 * @throws InvalidIdentifierError when the field name is not a safe column name.
 */
export function validateFieldName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !FIELD.test(name) || name.length > MAX_IDENTIFIER_LENGTH) {
    throw new InvalidIdentifierError(
      `${what} ${JSON.stringify(name)} must be ASCII letters, digits and underscores, starting with a letter, at most ${MAX_IDENTIFIER_LENGTH} characters`,
    );
  }
  return name;
}

/** Quotes a checked field name as a column. */
export function quoteField(name: string): string {
  return `"${validateFieldName(name, 'field')}"`;
}
