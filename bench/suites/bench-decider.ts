// A tiny counter aggregate for the command benchmarks, built the way docs/commands.md shows: zod
// schemas, a pure decider, defineAggregate. Small on purpose, so that the figures measure the command
// path (load, decide, append) rather than the domain.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  BusinessRuleError,
  defineAggregate,
  defineCommands,
  defineEvents,
  type Aggregate,
  type CommandOf,
  type Decider,
  type EventOf,
} from '../../src/domain';
import type { EventData } from '../../src/event-store';

export const counterCommands = defineCommands({
  OpenCounter: { schema: z.object({ name: z.string().min(1), openedAt: z.iso.datetime() }), stream: 'new' },
  Increment: { schema: z.object({ by: z.number().int().positive().max(1_000) }), stream: 'existing' },
});

export const counterEvents = defineEvents({
  CounterOpened: z.object({ name: z.string(), openedAt: z.iso.datetime() }),
  Incremented: z.object({ by: z.number().int() }),
});

export type CounterCommand = CommandOf<typeof counterCommands>;
export type CounterEvent = EventOf<typeof counterEvents>;
/** Plain JSON, so that snapshots store it as is. */
export type CounterState = { status: 'none' } | { status: 'open'; name: string; increments: number; total: number };

export const MAX_TOTAL = Number.MAX_SAFE_INTEGER;

export const counterDecider: Decider<CounterCommand, CounterEvent, CounterState> = {
  initialState: () => ({ status: 'none' }),
  decide(command, state) {
    switch (command.type) {
      case 'OpenCounter':
        return [{ type: 'CounterOpened', data: command.data }];
      case 'Increment':
        if (state.status !== 'open') throw new BusinessRuleError('NOT_OPEN', 'the counter is not open');
        if (state.total + command.data.by > MAX_TOTAL) throw new BusinessRuleError('OVERFLOW', 'the counter would overflow');
        return [{ type: 'Incremented', data: command.data }];
      default: {
        const _never: never = command;
        return _never;
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'CounterOpened':
        return { status: 'open', name: event.data.name, increments: 0, total: 0 };
      case 'Incremented':
        return state.status === 'open' ? { ...state, increments: state.increments + 1, total: state.total + event.data.by } : state;
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
};

/** Streams named `counter-<id>`; no snapshots. */
export const counter = defineAggregate({ category: 'counter', decider: counterDecider, commands: counterCommands, events: counterEvents });

/** The same counter, snapshotting every `every` events. */
export function snapshottingCounter(every: number): Aggregate<CounterCommand, CounterEvent, CounterState> {
  return defineAggregate({ category: 'counter', decider: counterDecider, commands: counterCommands, events: counterEvents, snapshots: { every, version: 1 } });
}

/** `count` stored events that make an open counter: one CounterOpened, then Incremented ones. */
export function counterHistory(count: number): EventData[] {
  return Array.from({ length: count }, (_, index): EventData =>
    index === 0
      ? { id: randomUUID(), type: 'CounterOpened', data: { name: 'bench', openedAt: '2026-01-01T00:00:00.000Z' } }
      : { id: randomUUID(), type: 'Incremented', data: { by: 1 } },
  );
}
