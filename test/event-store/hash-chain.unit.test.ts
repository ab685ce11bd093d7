import { createHash } from 'node:crypto';
import { InMemoryEventStore } from '../../src/event-store';
import { GENESIS_HASH, batchHash, eventHash } from '../../src/event-store/hash-chain';
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
