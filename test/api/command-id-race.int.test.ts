import { randomUUID } from 'node:crypto';
import { bearer, gql, startTestApi, token, type TestApi } from './support/test-api';

const OPEN = `mutation Open($input: OpenTicketInput!, $commandId: ID) {
  openTicket(input: $input, commandId: $commandId) { commandId streamName revision position correlationId }
}`;

type Receipt = { commandId: string; streamName: string; revision: string; position: string; correlationId: string };

// One winner per command id (DESIGN.md), over real HTTP: racing mutations that reuse one command id.
describe('mutations racing with one command id (SQLite, real HTTP)', () => {
  let app: TestApi;
  let agent: Record<string, string>;

  beforeAll(async () => {
    app = await startTestApi();
    agent = bearer(await token('agent-1', ['agent']));
  });
  afterAll(() => app.close());

  async function stored(streamName: string): Promise<{ title: unknown; position: string }[]> {
    const events = [];
    for await (const event of app.eventStore.readStream(streamName)) {
      events.push({ title: (event.data as { title?: unknown }).title, position: event.position.toString() });
    }
    return events;
  }

  it('answer one of 8 different payloads with a receipt for what was stored, the other 7 with the reuse refusal', async () => {
    for (let round = 0; round < 4; round++) {
      const ticketId = `race-${round}-${randomUUID().slice(0, 8)}`;
      const commandId = randomUUID();
      const responses = await Promise.all(
        Array.from({ length: 8 }, (_, caller) =>
          gql<{ openTicket: Receipt }>(app.url, OPEN, { input: { ticketId, title: `Title ${caller}` }, commandId }, agent),
        ),
      );
      const winners = responses.flatMap((response, caller) => (response.body.data?.openTicket ? [{ caller, receipt: response.body.data.openTicket }] : []));
      expect(winners).toHaveLength(1);
      // The API maps COMMAND_ID_REUSED (a validation error) to BAD_USER_INPUT (src/api/errors.ts); the
      // message is the command layer's refusal of the reused id, not a success and not another error.
      const refusals = responses.filter((response) => !response.body.data?.openTicket).map((response) => response.body.errors?.[0]);
      expect(refusals).toHaveLength(7);
      for (const refusal of refusals) {
        expect(refusal?.extensions?.code).toBe('BAD_USER_INPUT');
        expect(refusal?.message).toContain(`command id ${commandId} was already used for a different command`);
      }
      const events = await stored(`ticket-${ticketId}`);
      expect(events).toEqual([{ title: `Title ${winners[0]!.caller}`, position: winners[0]!.receipt.position }]);
    }
  });

  it('answer 8 identical retries with the same receipt and store the event once', async () => {
    const ticketId = `retry-${randomUUID().slice(0, 8)}`;
    const variables = { input: { ticketId, title: 'Same' }, commandId: randomUUID() };
    const responses = await Promise.all(Array.from({ length: 8 }, () => gql<{ openTicket: Receipt }>(app.url, OPEN, variables, agent)));
    const events = await stored(`ticket-${ticketId}`);
    expect(events).toHaveLength(1);
    for (const response of responses) {
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data!.openTicket).toMatchObject({ commandId: variables.commandId, revision: '0', position: events[0]!.position });
    }
  });
});
