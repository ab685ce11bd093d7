/** The demo's drivers. */
export const DRIVERS: readonly string[] = ['driver-ada', 'driver-grace', 'driver-linus', 'driver-margaret', 'driver-ken'];

/**
 * The driver for an order: a stable choice from the order id, so that handling the same event twice,
 * or late, picks the same driver.
 */
export function driverFor(orderId: string): string {
  let hash = 2166136261;
  for (let index = 0; index < orderId.length; index++) hash = Math.imul(hash ^ orderId.charCodeAt(index), 16777619) >>> 0;
  return DRIVERS[hash % DRIVERS.length]!;
}
