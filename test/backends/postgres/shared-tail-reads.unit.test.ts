import fc from 'fast-check';
import type { EventFilter, RecordedEvent } from '../../../src/event-store';
import { Position } from '../../../src/event-store/position';
import { matchesFilter } from '../../../src/event-store/validation';
import type { AllPage } from '../../../src/backends/postgres/event-reads';
import { SharedTailReads } from '../../../src/backends/postgres/shared-tail-reads';

/** A `$all` log: the first `visible` events may be read; the rest are committed but hidden. */
interface Log {
  readonly events: readonly RecordedEvent[];
  readonly visible: number;
}

/** What the store's statement answers: the reference every shared read must agree with. */
function statement(log: Log, after: Position | 'start', limit: number, filter: EventFilter | undefined): AllPage {
  const passes = (event: RecordedEvent) =>
    (after === 'start' || event.position.isAfter(after)) && matchesFilter(filter, event.streamName, event.type);
  const events = log.events.slice(0, log.visible).filter(passes).slice(0, limit);
  const hidden = events.length < limit && log.events.slice(log.visible).some(passes);
  return { events, hidden };
}

function eventAt(index: number, type: string, streamName: string): RecordedEvent {
  // Transaction ids grow with the sequence, a few events per transaction, as commits write them.
  const sequence = BigInt(index + 1);
  return {
    id: `event-${index}`,
    type,
    streamName,
    revision: 0n,
    position: Position.of(1_000n + sequence / 3n, sequence),
    data: {},
    metadata: {},
    recordedAt: new Date(0),
  };
}

const TYPES = ['Placed', 'Approved', 'Charged', 'Completed'];
const PREFIXES = ['order-', 'payment-'];

const logArbitrary = fc
  .array(fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom('order-1', 'order-2', 'payment-1', 'other-1')), { maxLength: 40 })
  .chain((specs) =>
    fc.record({
      events: fc.constant(specs.map(([type, stream], index) => eventAt(index, type, stream))),
      visible: fc.integer({ min: 0, max: specs.length }),
    }),
  );

const filterArbitrary: fc.Arbitrary<EventFilter | undefined> = fc.option(
  fc.record(
    { eventTypes: fc.subarray(TYPES), streamPrefixes: fc.subarray(PREFIXES, { minLength: 1 }) },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

function reader(log: Log): { reads: SharedTailReads; statements: () => number } {
  let statements = 0;
  const reads = new SharedTailReads((after, limit, filter) => {
    statements++;
    if (after === 'end') return Promise.resolve({ events: [], hidden: false });
    return Promise.resolve(statement(log, after, limit, filter));
  });
  return { reads, statements: () => statements };
}

describe('SharedTailReads', () => {
  it('gives every reader of a turn what its own statement would have given', async () => {
    await fc.assert(
      fc.asyncProperty(
        logArbitrary,
        fc.array(fc.record({ cursor: fc.integer({ min: -1, max: 40 }), limit: fc.integer({ min: 1, max: 12 }), filter: filterArbitrary }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (log, requests) => {
          const { reads } = reader(log);
          const asked = requests.map(({ cursor, limit, filter }) => {
            const after = cursor < 0 || cursor >= log.events.length ? ('start' as const) : log.events[cursor]!.position;
            return { after, limit, filter, page: reads.read(after, limit, filter) };
          });
          for (const { after, limit, filter, page } of asked) {
            const expected = statement(log, after, limit, filter);
            const got = await page;
            expect(got.events.map((event) => event.id)).toEqual(expected.events.map((event) => event.id));
            // A short page may say "hidden" more often than its own statement would (the shared filter is
            // wider), never less: a reader with hidden events must be woken again.
            if (expected.hidden) expect(got.hidden).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads once for the subscribers one commit woke, each with its own filter and cursor', async () => {
    const events = ['Placed', 'Approved', 'Charged', 'Completed'].map((type, index) => eventAt(index, type, 'workflow-1'));
    const { reads, statements } = reader({ events, visible: events.length });
    const pages = await Promise.all([
      reads.read(events[0]!.position, 1_000, { eventTypes: ['Placed'] }),
      reads.read(events[0]!.position, 1_000, { eventTypes: ['Approved'] }),
      reads.read(events[1]!.position, 1_000, { eventTypes: ['Charged'] }),
      reads.read(events[2]!.position, 1_000, undefined),
    ]);
    expect(statements()).toBe(1);
    expect(pages.map((page) => page.events.map((event) => event.type))).toEqual([[], ['Approved'], ['Charged'], ['Completed']]);
  });

  it('lets a reader far behind the others read alone, so that the shared read stays short', async () => {
    const events = Array.from({ length: 600 }, (_, index) => eventAt(index, 'Placed', 'order-1'));
    let limits: number[] = [];
    const reads = new SharedTailReads((after, limit, filter) => {
      const page = after === 'end' ? { events: [], hidden: false } : statement({ events, visible: events.length }, after, limit, filter);
      limits.push(page.events.length);
      return Promise.resolve(page);
    });
    limits = [];
    const [behind, head, nearHead] = await Promise.all([
      reads.read('start', 100, undefined),
      reads.read(events[598]!.position, 100, undefined),
      reads.read(events[590]!.position, 100, undefined),
    ]);
    expect(behind.events).toHaveLength(100);
    expect(head.events.map((event) => event.id)).toEqual(['event-599']);
    expect(nearHead.events).toHaveLength(9);
    // Two statements: the one catching up alone (a full page), the two near the head together (9 rows).
    expect(limits.sort((a, b) => a - b)).toEqual([9, 100]);
  });

  it('hands a failed statement to every reader that shared it', async () => {
    const reads = new SharedTailReads(() => Promise.reject(new Error('connection lost')));
    const position = eventAt(0, 'Placed', 'order-1').position;
    const results = await Promise.allSettled([reads.read(position, 10, undefined), reads.read(position, 10, { eventTypes: ['Placed'] })]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });
});
