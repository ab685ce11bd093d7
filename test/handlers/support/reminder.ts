// A command that records every time it is sent: counting its events counts a timer's firings.
import { z } from 'zod';
import { defineAggregate, defineCommands, defineEvents, type CommandOf, type Decider, type EventOf } from '../../../src/domain';

const reminderCommands = defineCommands({ Remind: { schema: z.object({}), stream: 'any' } });
const reminderEvents = defineEvents({ Reminded: z.object({}) });

const decider: Decider<CommandOf<typeof reminderCommands>, EventOf<typeof reminderEvents>, null> = {
  initialState: () => null,
  decide: () => [{ type: 'Reminded', data: {} }],
  evolve: () => null,
};

export const reminder = defineAggregate({ category: 'reminder', decider, commands: reminderCommands, events: reminderEvents });
