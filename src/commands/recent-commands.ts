/**
 * How many of the last command ids a cached state or snapshot remembers. A retried command older than
 * the fold's starting point is recognised from this list without reading the events behind it.
 */
export const RECENT_COMMAND_LIMIT = 32;

/**
 * The ids of the last commands folded into a state, oldest first, at most {@link RECENT_COMMAND_LIMIT}.
 * One command's events are one contiguous append, so an id is added once however many events it wrote.
 *
 * @example
 * withCommandIds(['a', 'b'], ['b', 'c']); // ['a', 'b', 'c']
 */
export function withCommandIds(recent: readonly string[], commandIds: Iterable<string>): readonly string[] {
  let ids: string[] | undefined;
  for (const id of commandIds) {
    const list: readonly string[] = ids ?? recent;
    if (list[list.length - 1] === id) continue;
    ids ??= [...recent];
    ids.push(id);
  }
  if (!ids) return recent;
  return ids.length > RECENT_COMMAND_LIMIT ? ids.slice(ids.length - RECENT_COMMAND_LIMIT) : ids;
}

/** Reads a stored list back, dropping anything that is not one (a snapshot from elsewhere). */
export function parseRecentCommandIds(value: unknown): readonly string[] {
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string').slice(-RECENT_COMMAND_LIMIT) : [];
}
