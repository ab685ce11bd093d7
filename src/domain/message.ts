/**
 * A command or an event as the domain sees it: a type tag and its payload. Discriminating on `type`
 * narrows `data`, so a `switch (message.type)` needs no casts.
 *
 * @example
 * type AddItem = Message<'AddItem', { sku: string; quantity: number }>;
 * const command: AddItem = { type: 'AddItem', data: { sku: 'tea', quantity: 2 } };
 */
export interface Message<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
}
