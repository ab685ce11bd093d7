import { createHash } from 'node:crypto';
import { InMemoryEventStore } from '../../src/event-store';
import fc from 'fast-check';
import { GENESIS_HASH, batchHash, chainEvents, eventHash } from '../../src/event-store/hash-chain';
import { runHashChainSuite } from './hash-chain.conformance';

runHashChainSuite('in-memory', () => Promise.resolve(new InMemoryEventStore()));

describe('the hash encoding', () => {
  const sha256 = (...parts: Array<Buffer | string>) => {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return hash.digest();
  };
  const int64 = (value: bigint) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64BE(value);
    return buffer;
  };

  it('is the documented one: SHA-256 over the domain, the previous hash and a digest of each part', () => {
    const fields = { streamName: 'order-ü', revision: 3n, id: '0b7e1c9a-3f7a-4a43-9b0a-5d1e6c1f2a3b', type: 'OrderPlaced', data: '{"total":1}', metadata: '{}' };
    const previous = sha256('previous');
    const documented = sha256(
      'eventfold/event/v1',
      previous,
      sha256(Buffer.from(fields.streamName, 'utf8')),
      int64(fields.revision),
      sha256(fields.id),
      sha256(fields.type),
      sha256(fields.data),
      sha256(fields.metadata),
    );
    expect(eventHash(previous, fields).equals(documented)).toBe(true);
    expect(eventHash(GENESIS_HASH, fields).equals(documented)).toBe(false);
    const batch = sha256('eventfold/batch/v1', previous, int64(7n), int64(2n), documented, previous);
    expect(batchHash(previous, 7n, [documented, previous]).equals(batch)).toBe(true);
  });
});

describe('chainEvents', () => {
  // It reuses the digests of a type or metadata text equal to the previous event's: the result must be
  // exactly the event-by-event chain, whatever repeats or changes between events.
  it('gives each event the hash eventHash gives it on the one before, whatever repeats between events', () => {
    const text = fc.constantFrom('OrderPlaced', 'OrderPaid', '{}', '{"a":1}', '', 'ü');
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.uuid(), type: text, data: fc.oneof(text, fc.json()), metadata: text }), { minLength: 1, maxLength: 12 }),
        fc.bigInt({ min: 0n, max: 1n << 40n }),
        (events, firstRevision) => {
          const previous = eventHash(GENESIS_HASH, { streamName: 's', revision: 0n, id: 'x', type: 't', data: '1', metadata: '{}' });
          const chained = chainEvents(previous, 'stream-ü', firstRevision, events);
          let expected = previous;
          events.forEach((event, index) => {
            expected = eventHash(expected, { streamName: 'stream-ü', revision: firstRevision + BigInt(index), ...event });
            expect(chained[index]!.equals(expected)).toBe(true);
          });
          expect(chained).toHaveLength(events.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
