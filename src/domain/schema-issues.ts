import type { z } from 'zod';
import type { ValidationIssue } from './errors';

/**
 * Turns zod's issues into named fields under a prefix: `['items', 0, 'sku']` under `data` becomes
 * `data.items[0].sku`.
 *
 * @example
 * const result = schema.safeParse(input);
 * if (!result.success) throw new ValidationError('command AddItem', issuesOf(result.error, 'data'));
 */
export function issuesOf(error: z.ZodError, prefix: string): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: joinPath(prefix, issue.path), message: issue.message }));
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  let text = prefix;
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text ? `.${String(key)}` : String(key);
  }
  return text;
}
