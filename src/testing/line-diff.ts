/**
 * A readable diff of two values: both printed as indented JSON, then compared line by line. Lines only
 * in `expected` start with `- `, lines only in `actual` with `+ `. Unlike a truncated assertion diff,
 * every line is shown, so the failing event is always in view.
 *
 * @example
 * lineDiff([{ type: 'A' }], [{ type: 'B' }]);
 */
export function lineDiff(expected: unknown, actual: unknown): string {
  // Keys sorted on both sides: key order never matters to deep equality, so it must not show as a change.
  const before = print(expected, true).split('\n');
  const after = print(actual, true).split('\n');
  // Past this size the quadratic table costs more than it helps: show both sides in full.
  if (before.length * after.length > 4_000_000) {
    return `- expected:\n${indent(before, '- ')}\n+ actual:\n${indent(after, '+ ')}`;
  }
  const rows = before.length;
  const columns = after.length;
  const common: number[][] = Array.from({ length: rows + 1 }, () => new Array<number>(columns + 1).fill(0));
  for (let i = rows - 1; i >= 0; i--) {
    for (let j = columns - 1; j >= 0; j--) {
      common[i]![j] = before[i] === after[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < rows && j < columns) {
    if (before[i] === after[j]) {
      lines.push(`  ${before[i]}`);
      i++;
      j++;
    } else if (common[i + 1]![j]! >= common[i]![j + 1]!) {
      lines.push(`- ${before[i++]}`);
    } else {
      lines.push(`+ ${after[j++]}`);
    }
  }
  while (i < rows) lines.push(`- ${before[i++]}`);
  while (j < columns) lines.push(`+ ${after[j++]}`);
  return lines.join('\n');
}

/**
 * Indented JSON that also shows what JSON would hide: `undefined`, bigints, functions.
 *
 * @example
 * print({ revision: 1n }); // '{\n  "revision": "1n"\n}'
 */
export function print(value: unknown, sortKeys = false): string {
  const text = JSON.stringify(
    value,
    (_key, current: unknown) => {
      if (current === undefined) return '<undefined>';
      if (typeof current === 'bigint') return `${current}n`;
      if (typeof current === 'function') return '<function>';
      if (typeof current === 'symbol') return current.toString();
      if (sortKeys && current !== null && typeof current === 'object' && !Array.isArray(current)) {
        const sorted: Record<string, unknown> = {};
        for (const key of Object.keys(current).sort()) sorted[key] = (current as Record<string, unknown>)[key];
        return sorted;
      }
      return current;
    },
    2,
  );
  return text ?? String(value);
}

function indent(lines: readonly string[], prefix: string): string {
  return lines.map((line) => prefix + line).join('\n');
}
