import 'reflect-metadata';
import { CommandReceiptView } from '../../src/api/command-receipt.type';
import { Position } from '../../src/event-store/position';

describe('CommandReceiptView', () => {
  const receipt = { commandId: 'c-1', streamName: 'ticket-1', revision: 2n, correlationId: 'c-1', events: [], state: undefined };

  it('gives revision and position as strings', () => {
    const view = CommandReceiptView.from({ ...receipt, position: Position.of(7n, 3n) });
    expect(view).toMatchObject({ commandId: 'c-1', streamName: 'ticket-1', revision: '2', correlationId: 'c-1' });
    expect(Position.parse(view.position)).toEqual(Position.of(7n, 3n));
  });

  it('answers the start position, never null, when nothing was ever appended to the stream', () => {
    const view = CommandReceiptView.from({ ...receipt, revision: -1n, position: undefined });
    expect(view.position).toEqual(expect.any(String));
    expect(Position.parse(view.position)).toEqual(Position.of(0n, 0n));
    expect(view.position < Position.of(0n, 1n).toString()).toBe(true);
  });
});
