import { MalformedStreamNameError } from './errors';

/** Longest stream name the stores accept. */
const MAX_STREAM_NAME_LENGTH = 255;
const CATEGORY = /^[A-Za-z][A-Za-z0-9_]*$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * A stream name split into its parts.
 *
 * @example
 * const { category, id }: StreamNameParts = parseStreamName('cart-42'); // 'cart', '42'
 */
export interface StreamNameParts {
  readonly category: string;
  readonly id: string;
}

/**
 * Whether a category can start a stream name: a letter, then letters, digits or `_` — no `-`, since the
 * first `-` separates category from id.
 *
 * @example
 * isValidCategory('cart'); // true
 */
export function isValidCategory(category: string): boolean {
  return CATEGORY.test(category);
}

/**
 * Builds `category-id`. The id may contain `-` (UUIDs do).
 *
 * @example
 * toStreamName('cart', '7f3c-…'); // 'cart-7f3c-…'
 * @throws MalformedStreamNameError when the result would not parse back.
 */
export function toStreamName(category: string, id: string): string {
  const streamName = `${category}-${id}`;
  parseStreamName(streamName, category);
  return streamName;
}

/**
 * Splits `category-id` and checks it belongs to `expectedCategory` when given.
 *
 * @example
 * parseStreamName('cart-42', 'cart'); // { category: 'cart', id: '42' }
 * @throws MalformedStreamNameError
 */
export function parseStreamName(streamName: unknown, expectedCategory?: string): StreamNameParts {
  if (typeof streamName !== 'string') {
    throw new MalformedStreamNameError(String(streamName), `is a ${streamName === null ? 'null' : typeof streamName}, not a string`);
  }
  if (streamName.length > MAX_STREAM_NAME_LENGTH) {
    throw new MalformedStreamNameError(streamName.slice(0, 40) + '…', `is longer than ${MAX_STREAM_NAME_LENGTH} characters`);
  }
  if (CONTROL_CHARACTERS.test(streamName)) throw new MalformedStreamNameError(streamName, 'contains control characters');
  const dash = streamName.indexOf('-');
  if (dash <= 0 || dash === streamName.length - 1) {
    throw new MalformedStreamNameError(streamName, 'is not of the form <category>-<id>');
  }
  const category = streamName.slice(0, dash);
  const id = streamName.slice(dash + 1);
  if (!CATEGORY.test(category)) {
    throw new MalformedStreamNameError(streamName, `has category ${JSON.stringify(category)}; a category is a letter followed by letters, digits or _`);
  }
  if (expectedCategory !== undefined && category !== expectedCategory) {
    throw new MalformedStreamNameError(streamName, `belongs to category ${JSON.stringify(category)}, not ${JSON.stringify(expectedCategory)}`);
  }
  return { category, id };
}
