import { z } from 'zod';
import { defineAggregate, defineCommands, defineEvents, type Decider } from '../../../src/domain';
import { defineReactor, type Reactor } from '../../../src/handlers';

type LedgerCommand = { type: 'Record'; data: { eventId: string } };
type LedgerEvent = { type: 'Recorded'; data: { eventId: string } };

const decider: Decider<LedgerCommand, LedgerEvent, null> = {
  initialState: () => null,
  // Records every command it gets: a command issued twice would show as two Recorded events.
  decide: (command) => [{ type: 'Recorded', data: command.data }],
  evolve: (state) => state,
};

/** `ledger-<source stream>`: one Recorded event per source event the reactor handled. */
export const ledger = defineAggregate({
  category: 'ledger',
  decider,
  commands: defineCommands({ Record: { schema: z.object({ eventId: z.string() }), stream: 'any' } }),
  events: defineEvents({ Recorded: z.object({ eventId: z.string() }) }),
});

/** Sends one ledger command per `order-` event; its effect is that command's event. */
export function ledgerReactor(onHandled: () => void = () => undefined): Reactor {
  return defineReactor({
    name: 'ledger',
    filter: { streamPrefixes: ['order-'] },
    concurrency: 32,
    handle: async (event, context) => {
      await context.send(ledger, { streamName: `ledger-${event.streamName.slice('order-'.length)}`, command: { type: 'Record', data: { eventId: event.id } } });
      onHandled();
    },
  });
}
