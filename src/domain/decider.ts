/**
 * An aggregate as a plain object (Chassaing's functional decider): `decide` turns a command and the
 * current state into events, `evolve` folds one event into the state, `initialState` is the state of a
 * stream that does not exist yet. Both functions are pure: time, ids and other outside facts arrive in
 * the command.
 *
 * Declaring `evolve`'s return type makes a missing event case a compile error (a `switch` that falls
 * through cannot return `State`); end every switch with `const _never: never = event` to say so loudly.
 *
 * @example
 * const counter: Decider<Message<'Add', { by: number }>, Message<'Added', { by: number }>, { status: 'counting'; total: number }> = {
 *   initialState: () => ({ status: 'counting', total: 0 }),
 *   decide: (command) => [{ type: 'Added', data: { by: command.data.by } }],
 *   evolve: (state, event) => ({ status: 'counting', total: state.total + event.data.by }),
 * };
 */
export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
  /** True once the state can never change again (the stream is closed for good). */
  isTerminal?(state: State): boolean;
}

/**
 * Folds events into a state with the decider's `evolve`, from `initialState()` unless a starting state
 * (a snapshot) is given.
 *
 * @example
 * const state = fold(counter, [{ type: 'Added', data: { by: 2 } }]); // { status: 'counting', total: 2 }
 */
export function fold<Event, State>(
  decider: Pick<Decider<never, Event, State>, 'evolve' | 'initialState'>,
  events: Iterable<Event>,
  from: State = decider.initialState(),
): State {
  let state = from;
  for (const event of events) state = decider.evolve(state, event);
  return state;
}
