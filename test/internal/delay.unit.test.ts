import { delay, within, withTimeout } from '../../src/internal/delay';

const never = new Promise<never>(() => undefined);

describe('delay', () => {
  it('waits the time, or ends at once when its signal aborts', async () => {
    const started = Date.now();
    await delay(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);

    const controller = new AbortController();
    const waiting = delay(60_000, controller.signal);
    controller.abort();
    await expect(waiting).resolves.toBeUndefined();
    await expect(delay(60_000, controller.signal)).resolves.toBeUndefined();
  });
});

describe('within', () => {
  it('says whether the promise settled in time, and lets its rejection through', async () => {
    await expect(within(Promise.resolve('done'), 1_000)).resolves.toBe(true);
    await expect(within(never, 10)).resolves.toBe(false);
    await expect(within(Promise.reject(new Error('broke')), 1_000)).rejects.toThrow('broke');
  });

  it('clears its timer, so a bounded wait leaves nothing pending', async () => {
    jest.useFakeTimers();
    try {
      await within(Promise.resolve(), 60_000);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('withTimeout', () => {
  it('passes the value through in time, and rejects with the given error after it', async () => {
    await expect(withTimeout(Promise.resolve(42), 1_000, () => new Error('late'))).resolves.toBe(42);
    await expect(withTimeout(never, 10, () => new RangeError('late'))).rejects.toThrow(RangeError);
    await expect(withTimeout(Promise.reject(new Error('broke')), 1_000, () => new Error('late'))).rejects.toThrow('broke');
  });
});
