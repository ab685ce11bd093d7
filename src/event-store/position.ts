import { InvalidPositionError } from './errors';

const HEX_WIDTH = 16;
const SERIALISED = /^[0-9a-f]{32}$/;
const MAX_PART = (1n << 64n) - 1n;

/**
 * A global position in the store's `$all` log. Opaque to users: compare, serialise, parse.
 *
 * Internally a pair of unsigned 64-bit numbers ordered lexicographically. Backends map their own
 * notion onto it: SQLite and in-memory use the sequence number twice, PostgreSQL uses
 * (transaction id, sequence) — the order that makes catch-up gap-safe — and EventStoreDB its
 * (commit, prepare) pair.
 *
 * @example
 * const checkpoint = Position.parse(savedString);
 * if (event.position.isAfter(checkpoint)) { ... }
 * save(event.position.toString());
 */
export class Position {
  private constructor(
    readonly commit: bigint,
    readonly prepare: bigint,
  ) {}

  /** Builds a position from its two parts; backends use this, users parse strings. */
  static of(commit: bigint, prepare: bigint): Position {
    if (commit < 0n || prepare < 0n || commit > MAX_PART || prepare > MAX_PART) {
      throw new InvalidPositionError(`position parts must be unsigned 64-bit integers, got ${commit}/${prepare}`);
    }
    return new Position(commit, prepare);
  }

  /**
   * Parses a string made by {@link Position.toString}.
   *
   * @example
   * Position.parse('0000000000000001' + '0000000000000001');
   * @throws InvalidPositionError when the string is not a serialised position.
   */
  static parse(text: string): Position {
    if (typeof text !== 'string' || !SERIALISED.test(text)) {
      throw new InvalidPositionError(
        `malformed position ${JSON.stringify(text)}: expected 32 lowercase hex digits as produced by Position.toString()`,
      );
    }
    return new Position(BigInt(`0x${text.slice(0, HEX_WIDTH)}`), BigInt(`0x${text.slice(HEX_WIDTH)}`));
  }

  /** Negative, zero or positive, like a sort comparator. */
  compareTo(other: Position): number {
    if (this.commit !== other.commit) return this.commit < other.commit ? -1 : 1;
    if (this.prepare !== other.prepare) return this.prepare < other.prepare ? -1 : 1;
    return 0;
  }

  isAfter(other: Position): boolean {
    return this.compareTo(other) > 0;
  }

  isBefore(other: Position): boolean {
    return this.compareTo(other) < 0;
  }

  equals(other: Position): boolean {
    return this.compareTo(other) === 0;
  }

  /** Fixed-width hex, so that string order is position order too. */
  toString(): string {
    return this.commit.toString(16).padStart(HEX_WIDTH, '0') + this.prepare.toString(16).padStart(HEX_WIDTH, '0');
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Where a read of `$all` begins: a position already seen (exclusive), or one end of the log. */
export type FromPosition = Position | 'start' | 'end';

/** The later of two positions. */
export function maxPosition(a: Position, b: Position): Position {
  return a.compareTo(b) >= 0 ? a : b;
}
