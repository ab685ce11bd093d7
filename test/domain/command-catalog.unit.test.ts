import { UnknownCommandError, ValidationError, type CommandOf } from '../../src/domain';
import { caught } from './caught';
import { cartCommands } from './shopping-cart';

describe('command catalog', () => {
  it('parses a valid command, stripping unknown fields', () => {
    expect(cartCommands.parse({ type: 'RemoveItem', data: { sku: 'tea', note: 'x' } })).toEqual({ type: 'RemoveItem', data: { sku: 'tea' } });
  });

  it('knows what each command expects of its stream', () => {
    expect(cartCommands.streamExpectation('OpenCart')).toBe('new');
    expect(cartCommands.streamExpectation('AddItem')).toBe('existing');
    expect(() => cartCommands.streamExpectation('Nope')).toThrow(UnknownCommandError);
  });

  it('names every failing field', () => {
    const thrown = caught(() => cartCommands.parse({ type: 'AddItem', data: { quantity: -1, unitPriceCents: 'free' } }));
    expect(thrown).toBeInstanceOf(ValidationError);
    const error = thrown as ValidationError;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues.map((issue) => issue.path)).toEqual(['data.sku', 'data.quantity', 'data.unitPriceCents']);
    expect(error.message).toMatch(/^command AddItem is invalid: data\.sku: /);
  });

  it('rejects something that is not a command at all', () => {
    expect(() => cartCommands.parse(null)).toThrow(ValidationError);
    expect(() => cartCommands.parse({ data: {} })).toThrow(/type: expected a non-empty string/);
    expect(() => cartCommands.parse({ type: 'AddItem' })).toThrow(/data: is missing/);
  });

  it('rejects an unknown type, listing the known ones', () => {
    expect(caught(() => cartCommands.parse({ type: 'DeleteCart', data: {} }))).toMatchObject({
      code: 'UNKNOWN_COMMAND',
      knownTypes: ['OpenCart', 'AddItem', 'RemoveItem', 'CheckOut'],
    });
  });

  it('types the union of its commands', () => {
    const command: CommandOf<typeof cartCommands> = { type: 'RemoveItem', data: { sku: 'tea' } };
    // @ts-expect-error RemoveItem has no quantity
    const wrong: CommandOf<typeof cartCommands> = { type: 'RemoveItem', data: { quantity: 1 } };
    expect([command, wrong]).toHaveLength(2);
  });
});
