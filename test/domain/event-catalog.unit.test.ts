import { z } from 'zod';
import { defineEvents, InvalidStoredEventError, upcaster, ValidationError, versioned, type EventOf } from '../../src/domain';
import { caught } from './caught';
import { cartEvents } from './shopping-cart';

describe('event catalog', () => {
  it('decodes current events as their schema outputs them', () => {
    const event = cartEvents.decode({ type: 'ItemRemoved', data: { sku: 'tea', extra: 1 }, version: 1 });
    expect(event).toEqual({ type: 'ItemRemoved', data: { sku: 'tea' } });
  });

  it('knows each type and its current version', () => {
    expect(cartEvents.types).toEqual(['CartOpened', 'ItemAdded', 'ItemRemoved', 'CartCheckedOut']);
    expect(cartEvents.currentVersion('ItemAdded')).toBe(2);
    expect(cartEvents.currentVersion('CartOpened')).toBe(1);
    expect(cartEvents.has('ItemAdded')).toBe(true);
    expect(cartEvents.has('OrderPlaced')).toBe(false);
  });

  it('upcasts an old stored shape to the current one', () => {
    const event = cartEvents.decode({ type: 'ItemAdded', data: { sku: 'tea', quantity: 3 }, version: 1 });
    expect(event).toEqual({ type: 'ItemAdded', data: { sku: 'tea', quantity: 3, unitPriceCents: 0 } });
  });

  it('runs a chain of upcasters in order, checking each old shape', () => {
    const events = defineEvents({
      Moved: versioned(z.object({ to: z.object({ x: z.number(), y: z.number() }) }), [
        upcaster(z.object({ x: z.number() }), (v1) => ({ position: [v1.x, 0] })),
        upcaster(z.object({ position: z.tuple([z.number(), z.number()]) }), (v2) => ({ to: { x: v2.position[0], y: v2.position[1] } })),
      ]),
    });
    expect(events.currentVersion('Moved')).toBe(3);
    expect(events.decode({ type: 'Moved', data: { x: 4 }, version: 1 })).toEqual({ type: 'Moved', data: { to: { x: 4, y: 0 } } });
    expect(events.decode({ type: 'Moved', data: { position: [1, 2] }, version: 2 })).toEqual({
      type: 'Moved',
      data: { to: { x: 1, y: 2 } },
    });
    expect(() => events.decode({ type: 'Moved', data: { position: 'x' }, version: 2, location: 'robot-1@4' })).toThrow(
      /Moved event at robot-1@4 does not match its version 2 schema: data\.position: /,
    );
  });

  it('types the union of its events', () => {
    const events = defineEvents({ A: z.object({ a: z.string() }), B: z.object({ b: z.number() }) });
    const event: EventOf<typeof events> = { type: 'B', data: { b: 1 } };
    // @ts-expect-error B carries a number
    const wrong: EventOf<typeof events> = { type: 'B', data: { b: 'x' } };
    expect([event, wrong]).toHaveLength(2);
    expect(events.types).toEqual(['A', 'B']);
  });

  it('names every failing field of a stored event', () => {
    const thrown = caught(() =>
      cartEvents.decode({ type: 'CartCheckedOut', data: { checkedOutAt: 'yesterday' }, version: 1, location: 'cart-1@7' }),
    );
    expect(thrown).toBeInstanceOf(InvalidStoredEventError);
    const error = thrown as InvalidStoredEventError;
    expect(error.code).toBe('INVALID_STORED_EVENT');
    expect(error.issues.map((issue) => issue.path)).toEqual(['data.checkedOutAt', 'data.totalCents']);
    expect(error.message).toContain('cart-1@7');
  });

  it('refuses unknown types and versions from the future, or nonsense versions', () => {
    expect(() => cartEvents.decode({ type: 'CartDeleted', data: {}, version: 1 })).toThrow(InvalidStoredEventError);
    expect(() => cartEvents.decode({ type: 'ItemAdded', data: {}, version: 3 })).toThrow(/schema version 3; this code reads versions 1 to 2/);
    expect(() => cartEvents.decode({ type: 'ItemAdded', data: {}, version: 0 })).toThrow(InvalidStoredEventError);
    expect(() => cartEvents.decode({ type: 'ItemAdded', data: {}, version: 1.5 })).toThrow(InvalidStoredEventError);
  });

  it('reports an upcaster that throws, keeping its error as the cause', () => {
    const failure = new Error('boom');
    const events = defineEvents({
      Renamed: versioned(z.object({ name: z.string() }), [
        upcaster(z.object({ title: z.string() }), () => {
          throw failure;
        }),
      ]),
    });
    expect(caught(() => events.decode({ type: 'Renamed', data: { title: 't' }, version: 1 }))).toMatchObject({
      code: 'INVALID_STORED_EVENT',
      cause: failure,
    });
  });

  it('validates outgoing events: shape, type and data', () => {
    expect(() => cartEvents.validate('nope', 'event #0')).toThrow(ValidationError);
    expect(() => cartEvents.validate({ type: 'CartDeleted', data: {} }, 'event #0')).toThrow(/type: unknown event type "CartDeleted"/);
    expect(() => cartEvents.validate({ type: 'ItemRemoved' }, 'event #0')).toThrow(/data: is missing/);
    expect(() => cartEvents.validate({ type: 'ItemRemoved', data: { sku: 3 } }, 'event #0')).toThrow(/event #0 is invalid: data\.sku: /);
    expect(cartEvents.validate({ type: 'ItemRemoved', data: { sku: 'tea' } }, 'event #0')).toEqual({ type: 'ItemRemoved', data: { sku: 'tea' } });
  });
});
