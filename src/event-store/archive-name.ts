/**
 * The archive name and SHA-256 a lifecycle record's `archivedTo` names (`<name>#sha256=<hex>`).
 *
 * @example
 * parseArchivedTo('orders-2026-01.ndjson.gz#sha256=…'); // { name: 'orders-2026-01.ndjson.gz', sha256: '…' }
 */
export function parseArchivedTo(archivedTo: string): { readonly name: string; readonly sha256: string } | undefined {
  const match = /^(.*)#sha256=([0-9a-f]{64})$/.exec(archivedTo);
  return match ? { name: match[1]!, sha256: match[2]! } : undefined;
}
