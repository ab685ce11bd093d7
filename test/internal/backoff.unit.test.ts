import fc from 'fast-check';
import { backoffDelay, type Backoff, type Jitter } from '../../src/internal/backoff';

const policy = (jitter: Jitter): Backoff => ({ initialDelayMs: 100, maxDelayMs: 1_000, jitter });

describe('backoffDelay', () => {
  it('full jitter: anywhere from 0 up to the step, which doubles from the initial delay', () => {
    expect(backoffDelay(policy('full'), 1, () => 0)).toBe(0);
    expect(backoffDelay(policy('full'), 1, () => 0.5)).toBe(50);
    expect(backoffDelay(policy('full'), 2, () => 0.5)).toBe(100);
    expect(backoffDelay(policy('full'), 3, () => 0.5)).toBe(200);
  });

  it('equal jitter: half of the step is a floor, the other half random', () => {
    expect(backoffDelay(policy('equal'), 1, () => 0)).toBe(50);
    expect(backoffDelay(policy('equal'), 1, () => 0.5)).toBe(75);
    expect(backoffDelay(policy('equal'), 3, () => 0)).toBe(200);
  });

  it('stops growing at the maximum, even after very many retries or with no initial delay', () => {
    expect(backoffDelay(policy('equal'), 5, () => 0)).toBe(500);
    expect(backoffDelay(policy('equal'), 50, () => 0)).toBe(500);
    expect(backoffDelay(policy('full'), 10_000, () => 0.5)).toBe(500);
    expect(backoffDelay({ initialDelayMs: 0, maxDelayMs: 1_000, jitter: 'full' }, 10_000, () => 0.5)).toBe(0);
  });

  it('stays within [floor, step) for any policy, retry and random number', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.constantFrom<Jitter>('full', 'equal'),
        (initialDelayMs, extra, retry, random, jitter) => {
          const maxDelayMs = initialDelayMs + extra;
          const step = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(retry - 1, 52));
          const delay = backoffDelay({ initialDelayMs, maxDelayMs, jitter }, retry, () => random);
          expect(delay).toBeGreaterThanOrEqual(jitter === 'equal' ? step / 2 : 0);
          expect(delay).toBeLessThanOrEqual(step);
          expect(delay).toBeLessThanOrEqual(maxDelayMs);
        },
      ),
    );
  });

  it('never shrinks from one retry to the next for the same random number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom<Jitter>('full', 'equal'), (retry, random, jitter) => {
        const backoff = { initialDelayMs: 3, maxDelayMs: 60_000, jitter };
        expect(backoffDelay(backoff, retry + 1, () => random)).toBeGreaterThanOrEqual(backoffDelay(backoff, retry, () => random));
      }),
    );
  });
});
