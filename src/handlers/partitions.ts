/**
 * The partition of a stream: FNV-1a (32-bit) of its name, modulo the count. Stable across processes
 * and versions, since checkpoints and leases are stored per partition.
 *
 * @example
 * partitionOf('order-42', 16); // always the same number from 0 to 15
 */
export function partitionOf(streamName: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < streamName.length; index++) {
    hash ^= streamName.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}
