import fc from 'fast-check';
import { InvalidPositionError, Position } from '../../src/event-store';

const part = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe('Position', () => {
  it('round-trips through its string form for any pair of 64-bit parts', () => {
    fc.assert(
      fc.property(part, part, (commit, prepare) => {
        const parsed = Position.parse(Position.of(commit, prepare).toString());
        return parsed.commit === commit && parsed.prepare === prepare;
      }),
    );
  });

  it('orders strings exactly as it orders positions', () => {
    fc.assert(
      fc.property(part, part, part, part, (c1, p1, c2, p2) => {
        const a = Position.of(c1, p1);
        const b = Position.of(c2, p2);
        const byString = a.toString() < b.toString() ? -1 : a.toString() > b.toString() ? 1 : 0;
        return Math.sign(a.compareTo(b)) === byString;
      }),
    );
  });

  it('refuses parts outside unsigned 64 bits', () => {
    expect(() => Position.of(-1n, 0n)).toThrow(InvalidPositionError);
    expect(() => Position.of(0n, 1n << 64n)).toThrow(InvalidPositionError);
  });

  it('refuses non-strings', () => {
    expect(() => Position.parse(42 as unknown as string)).toThrow(InvalidPositionError);
  });
});
