import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { handleCommand, loadAt, readStreamForFold, type CommandEnvironment } from '../../src';
import { defineEvents, isRedacted, personal, type JsonValue, type RecordedEvent } from '../../src';
import { REDACTED } from '../../src/domain/personal-data';
import { PERSONAL_DATA_KEY } from '../../src/personal-data/seal';
import { InvalidArgumentError } from '../../src/event-store/errors';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { verifyStore } from '../../src/event-store/verify-store';
import { eventImporterOf, storeAdminOf } from '../../src/event-store/store-admin';
import { isStreamLifecycleHost } from '../../src/event-store/stream-lifecycle';
import {
  InMemoryKeyStore,
  InvalidSubjectError,
  keyStoreFor,
  PersonalDataUnreadableError,
  personalDataEvents,
  protectPersonalData,
  type KeyStore,
  type PersonalDataStore,
} from '../../src/personal-data';
import { rejection } from '../domain/caught';
import { profile, profileEvents } from './profile';

const ada = { memberId: 'm-ada', plan: 'plus', name: 'Ada Lovelace', address: { street: '12 St James Square', city: 'London' }, contact: { email: 'ada@example.org', newsletter: true } };

let inner: InMemoryEventStore;
let keys: KeyStore;
let store: PersonalDataStore;

beforeEach(() => {
  inner = new InMemoryEventStore();
  keys = new InMemoryKeyStore();
  store = protectPersonalData(inner, { events: [profileEvents], keys });
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const joined = (data: JsonValue = ada) => ({ id: randomUUID(), type: 'MemberJoined', data });

describe('declaring personal data', () => {
  it('finds personal fields through objects and optional wrappers', () => {
    expect(profileEvents.personalData!('MemberJoined')!.paths).toEqual([['name'], ['address'], ['contact', 'email']]);
    expect(profileEvents.personalData!('PlanChanged')).toBeUndefined();
  });

  it('refuses personal fields without a subject, a subject without fields, and fields inside arrays', () => {
    expect(() => defineEvents({ A: z.object({ name: personal(z.string()) }) })).toThrow(/name their subject/);
    expect(() => defineEvents({ A: z.object({ id: z.string() }) }, { subjects: { A: (data) => data.id } })).toThrow(/no personal\(\) fields/);
    expect(() =>
      defineEvents({ A: z.object({ id: z.string(), people: z.array(z.object({ name: personal(z.string()) })) }) }, { subjects: { A: (data) => data.id } }),
    ).toThrow(/inside a array; mark the whole array personal/);
    expect(() => defineEvents({ A: z.object({ id: z.string() }) }, { subjects: { B: () => 'x' } as never })).toThrow(/not an event type/);
  });

  it('parses the redacted form as a typed value of the field', () => {
    const event = profileEvents.decode({ type: 'MemberJoined', data: { ...ada, name: REDACTED, address: REDACTED }, version: 1 });
    if (event.type !== 'MemberJoined') throw new Error('unexpected type');
    expect(isRedacted(event.data.name)).toBe(true);
    expect(isRedacted('Ada')).toBe(false);
  });
});

describe('protectPersonalData', () => {
  it('stores only ciphertext and gives plaintext back on every read', async () => {
    await store.appendToStream('member-m-ada', [joined(), { id: randomUUID(), type: 'PlanChanged', data: { memberId: 'm-ada', plan: 'basic' } }]);

    const stored = await all(inner.readAll());
    const storedText = JSON.stringify(stored.map((event) => [event.data, event.metadata]));
    for (const secret of ['Ada Lovelace', 'St James', 'London', 'ada@example.org']) expect(storedText).not.toContain(secret);
    expect(stored[0]!.metadata[PERSONAL_DATA_KEY]).toMatchObject({ data: [['name'], ['address'], ['contact', 'email']], metadata: [] });
    expect((stored[0]!.data as { plan: string }).plan).toBe('plus');

    const expected = [ada, { memberId: 'm-ada', plan: 'basic' }];
    expect((await all(store.readAll())).map((event) => event.data)).toEqual(expected);
    expect((await all(store.readStream('member-m-ada'))).map((event) => event.data)).toEqual(expected);
    expect((await all(store.readStream('member-m-ada', { direction: 'backwards' }))).map((event) => event.data)).toEqual(expected.reverse());
    const pages = await all(readStreamForFold(store, 'member-m-ada', { metadataKeys: ['time'] }));
    expect(pages.flatMap((page) => page.events.map((event) => event.data))).toEqual([ada, { memberId: 'm-ada', plan: 'basic' }]);
    expect(pages[0]!.events[0]!.metadata).toEqual({});
    const subscription = store.subscribeToAll();
    const seen: JsonValue[] = [];
    for await (const message of subscription) {
      if (message.kind === 'caught-up') break;
      seen.push(message.event.data);
    }
    await subscription.close();
    expect(seen[0]).toEqual(ada);
  });

  it('redacts the personal fields of a forgotten subject, keeps the rest, and never changes a stored event', async () => {
    await store.appendToStream('member-m-ada', [joined()]);
    await store.appendToStream('member-m-bob', [joined({ ...ada, memberId: 'm-bob', name: 'Bob' })]);
    const before = await all(inner.readAll());

    const receipt = await store.forgetSubject('m-ada');
    expect(receipt).toMatchObject({ subjectId: 'm-ada', keysDestroyed: 1, streamName: 'subject-m-ada', revision: 0n });

    const after = await all(inner.readAll());
    expect(after.slice(0, 2)).toEqual(before);
    // Forgetting rewrote nothing: the hash chain over what is stored still verifies.
    expect(await verifyStore(inner)).toMatchObject({ ok: true, eventsChecked: 3 });
    const [adaEvent, bobEvent, forgotten] = await all(store.readAll());
    expect(adaEvent!.data).toEqual({ memberId: 'm-ada', plan: 'plus', name: REDACTED, address: REDACTED, contact: { email: REDACTED, newsletter: true } });
    expect((bobEvent!.data as { name: string }).name).toBe('Bob');
    expect(personalDataEvents.decode({ type: forgotten!.type, data: forgotten!.data, version: 1 })).toEqual({
      type: 'SubjectForgotten',
      data: { subjectId: 'm-ada', keysDestroyed: 1 },
    });
    // The catalog parses the redacted event, so projections and folds take it like any other.
    expect(() => profileEvents.decode({ type: 'MemberJoined', data: adaEvent!.data, version: 1 })).not.toThrow();
    // A second forget destroys nothing more and still says so.
    expect((await store.forgetSubject('m-ada')).keysDestroyed).toBe(0);
  });

  it('gives a subject a new key after a forget, so new data is readable and old data stays redacted', async () => {
    await store.appendToStream('member-m-ada', [joined()]);
    await store.forgetSubject('m-ada');
    await store.appendToStream('member-m-ada2', [joined({ ...ada, name: 'Ada again' })]);
    const names = (await all(store.readAll())).filter((event) => event.type === 'MemberJoined').map((event) => (event.data as { name: unknown }).name);
    expect(names).toEqual([REDACTED, 'Ada again']);
  });

  it('seals the command fingerprint, folds through redaction, and recognises a retried command', async () => {
    const environment: CommandEnvironment = { store };
    const command = { type: 'Join' as const, data: { memberId: 'm-1', name: 'Grace Hopper', city: 'Arlington' } };
    const first = await handleCommand(environment, profile, { streamName: 'member-m-1', command, commandId: 'cmd-1' });
    const retried = await handleCommand(environment, profile, { streamName: 'member-m-1', command, commandId: 'cmd-1' });
    expect(String(retried.position)).toBe(String(first.position));
    const [stored] = await all(inner.readStream('member-m-1'));
    expect(JSON.stringify(stored!.metadata.commandHash)).toContain('$sealed');

    await store.forgetSubject('m-1');
    const changed = await handleCommand(environment, profile, { streamName: 'member-m-1', command: { type: 'ChangePlan', data: { plan: 'plus' } } });
    expect(changed.events).toEqual([{ type: 'PlanChanged', data: { memberId: 'm-1', plan: 'plus' } }]);
    const state = await loadAt(store, profile, 'member-m-1', { revision: 1n });
    expect(state.state).toEqual({ status: 'member', memberId: 'm-1', plan: 'plus', named: false });
  });

  it('throws a typed error for a sealed value changed outside the kit', async () => {
    const tampered = new InMemoryEventStore();
    const protectedStore = protectPersonalData(tampered, { events: [profileEvents], keys });
    await protectedStore.appendToStream('member-m-ada', [joined()]);
    const [sealed] = await all(tampered.readAll());
    const data = sealed!.data as { memberId: string; name: { $sealed: string } };
    // The same sealed name under another event id no longer opens: the id is associated data.
    const copy = new InMemoryEventStore();
    await copy.appendToStream('member-m-ada', [{ id: randomUUID(), type: sealed!.type, data: sealed!.data, metadata: sealed!.metadata }]);
    const error = await rejection(() => all(protectPersonalData(copy, { events: [profileEvents], keys }).readAll()));
    expect(error).toBeInstanceOf(PersonalDataUnreadableError);
    expect((error as PersonalDataUnreadableError).field).toBe('data.name');
    expect(data.name.$sealed).toEqual(expect.any(String));
  });

  it('refuses a bad subject id with a typed error and writes nothing', async () => {
    const error = await rejection(() => store.appendToStream('member-x', [joined({ ...ada, memberId: '' })]));
    expect(error).toBeInstanceOf(InvalidSubjectError);
    expect(await rejection(() => store.forgetSubject('bad\nid'))).toBeInstanceOf(InvalidSubjectError);
    expect(await all(inner.readAll())).toEqual([]);
  });
});

describe('keyStoreFor', () => {
  it('shares one in-memory key store per in-memory event store, and refuses a durable store without keys', async () => {
    const events = new InMemoryEventStore();
    const keys = await keyStoreFor(events);
    expect(keys).toBeInstanceOf(InMemoryKeyStore);
    expect(await keyStoreFor(events)).toBe(keys);
    expect(await keyStoreFor(new InMemoryEventStore())).not.toBe(keys);
    const durable = Object.assign(Object.create(events) as InMemoryEventStore, { capabilities: { durable: true, sequencePositions: true }, backend: 'eventstoredb' });
    expect(await rejection(() => keyStoreFor(durable))).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('random appends and forgets (property)', () => {
  it('always read back as the plaintext or, for forgotten subjects, redacted, with non-personal data intact and stored events unchanged', async () => {
    const subjects = ['s-a', 's-b', 's-c', 's-d'];
    const step = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), subject: fc.constantFrom(...subjects), name: fc.string({ maxLength: 20 }), plus: fc.boolean(), email: fc.option(fc.emailAddress(), { nil: undefined }) }),
      fc.record({ kind: fc.constant('forget' as const), subject: fc.constantFrom(...subjects) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const base = new InMemoryEventStore();
        const protectedStore = protectPersonalData(base, { events: [profileEvents], keys: new InMemoryKeyStore() });
        const expected: { id: string; data: Record<string, unknown>; subject: string; forgotten: boolean }[] = [];
        for (const [index, action] of steps.entries()) {
          if (action.kind === 'forget') {
            const before = await all(base.readAll());
            await protectedStore.forgetSubject(action.subject);
            expect((await all(base.readAll())).slice(0, before.length)).toEqual(before);
            for (const entry of expected) if (entry.subject === action.subject) entry.forgotten = true;
            continue;
          }
          const data = {
            memberId: action.subject,
            plan: action.plus ? 'plus' : 'basic',
            name: action.name,
            contact: { ...(action.email === undefined ? {} : { email: action.email }), newsletter: index % 2 === 0 },
          };
          const id = randomUUID();
          await protectedStore.appendToStream(`member-${action.subject}-${index}`, [{ id, type: 'MemberJoined', data }]);
          expected.push({ id, data, subject: action.subject, forgotten: false });
        }
        const check = (events: readonly Pick<RecordedEvent, 'id' | 'type' | 'data'>[]): void => {
          const joinedEvents = events.filter((event) => event.type === 'MemberJoined');
          expect(joinedEvents.map((event) => event.id)).toEqual(expected.map((entry) => entry.id));
          joinedEvents.forEach((event, index) => {
            const entry = expected[index]!;
            const data = event.data as { memberId: string; plan: string; name: unknown; contact: { email?: unknown; newsletter: boolean } };
            expect([data.memberId, data.plan, data.contact.newsletter]).toEqual([entry.data.memberId, entry.data.plan, (entry.data.contact as { newsletter: boolean }).newsletter]);
            const original = entry.data as { name: string; contact: { email?: string } };
            expect(data.name).toEqual(entry.forgotten ? REDACTED : original.name);
            expect(data.contact.email).toEqual(original.contact.email === undefined ? undefined : entry.forgotten ? REDACTED : original.contact.email);
            expect(() => profileEvents.decode({ type: 'MemberJoined', data: event.data, version: 1 })).not.toThrow();
          });
        };
        check(await all(protectedStore.readAll()));
        check(await all(protectedStore.readAll({ direction: 'backwards' })).then((events) => events.reverse()));
      }),
      { numRuns: 60 },
    );
  });
});

describe('capabilities of the wrapped store', () => {
  it('offers the stream browser, the hash chain and stream lifecycle of the inner store, but never its import', async () => {
    await store.appendToStream('member-m-ada', [joined()]);
    const admin = storeAdminOf(store);
    expect(admin).toBeDefined();
    expect((await admin!.listStreams({ prefix: 'member-' })).map((stream) => stream.streamName)).toEqual(['member-m-ada']);
    expect(await verifyStore(store)).toMatchObject({ ok: true, eventsChecked: 1 });
    expect(isStreamLifecycleHost(store)).toBe(true);
    // An import would write around the seal: not offered, even where the inner store has one.
    expect(eventImporterOf(store)).toBeUndefined();
  });
});
