import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { InFlightRequests } from '../../src/api/shutdown';

/** A response that only knows how to close: what InFlightRequests listens for. */
function response(): ServerResponse & { finish(): void } {
  const emitter = new EventEmitter() as unknown as ServerResponse & { finish(): void };
  emitter.finish = () => emitter.emit('close');
  return emitter;
}

describe('InFlightRequests', () => {
  it('drains once every tracked response has closed, before the deadline', async () => {
    const requests = new InFlightRequests();
    const first = response();
    const second = response();
    requests.track(first);
    requests.track(second);
    let drained = false;
    const draining = requests.drain(Date.now() + 60_000).then(() => (drained = true));
    first.finish();
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    second.finish();
    await draining;
    expect(drained).toBe(true);
  });

  it('stops waiting at the deadline when a response never closes', async () => {
    const requests = new InFlightRequests();
    requests.track(response());
    const started = Date.now();
    await requests.drain(started + 50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('is open until closed, and stays closed', () => {
    const requests = new InFlightRequests();
    expect(requests.closing).toBe(false);
    requests.close();
    requests.close();
    expect(requests.closing).toBe(true);
  });
});
