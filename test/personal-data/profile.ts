import { z } from 'zod';
import { defineAggregate, defineCommands, defineEvents, isRedacted, personal, type CommandOf, type Decider, type EventOf } from '../../src/domain';

/** A small aggregate with personal data: a member's name and address, personal data of the member. */
export const profileEvents = defineEvents(
  {
    MemberJoined: z.object({
      memberId: z.string(),
      plan: z.enum(['basic', 'plus']),
      name: personal(z.string()),
      address: personal(z.object({ street: z.string(), city: z.string() })).optional(),
      contact: z.object({ email: personal(z.string()).optional(), newsletter: z.boolean() }),
    }),
    PlanChanged: z.object({ memberId: z.string(), plan: z.enum(['basic', 'plus']) }),
  },
  { subjects: { MemberJoined: (data) => data.memberId } },
);
export type ProfileEvent = EventOf<typeof profileEvents>;

export const profileCommands = defineCommands({
  Join: {
    schema: z.object({ memberId: z.string(), name: z.string(), city: z.string(), email: z.string().optional() }),
    stream: 'new',
  },
  ChangePlan: { schema: z.object({ plan: z.enum(['basic', 'plus']) }), stream: 'existing' },
});

type ProfileCommand = CommandOf<typeof profileCommands>;
export type ProfileState =
  | { readonly status: 'none' }
  | { readonly status: 'member'; readonly memberId: string; readonly plan: 'basic' | 'plus'; readonly named: boolean };

/** The state keeps no personal data; `named` says whether the name was still readable when folded. */
export const profileDecider: Decider<ProfileCommand, ProfileEvent, ProfileState> = {
  initialState: () => ({ status: 'none' }),
  decide(command, state) {
    switch (command.type) {
      case 'Join':
        return [
          {
            type: 'MemberJoined',
            data: {
              memberId: command.data.memberId,
              plan: 'basic',
              name: command.data.name,
              address: { street: '1 Main St', city: command.data.city },
              contact: { ...(command.data.email === undefined ? {} : { email: command.data.email }), newsletter: false },
            },
          },
        ];
      case 'ChangePlan':
        if (state.status !== 'member') return [];
        return [{ type: 'PlanChanged', data: { memberId: state.memberId, plan: command.data.plan } }];
      default: {
        const _never: never = command;
        return _never;
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'MemberJoined':
        return { status: 'member', memberId: event.data.memberId, plan: event.data.plan, named: !isRedacted(event.data.name) };
      case 'PlanChanged':
        return state.status === 'member' ? { ...state, plan: event.data.plan } : state;
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
};

export const profile = defineAggregate({ category: 'member', decider: profileDecider, commands: profileCommands, events: profileEvents });
