/**
 * An aggregate as three plain functions (after Emmett): `decide` turns a command
 * into events or throws a domain error, `evolve` folds one event into the state, and
 * `initialState` is the state of a stream that has no events yet.
 */
export interface Decider<State, Command, Event> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** The minimal shape every event of every aggregate has: a wire type name and a data payload. */
export interface EventEnvelope<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

/** Folds events over the initial state; what loading a stream without a snapshot does. */
export function replay<State, Event>(
  decider: Pick<Decider<State, unknown, Event>, 'evolve' | 'initialState'>,
  events: Iterable<Event>,
  from: State = decider.initialState(),
): State {
  let state = from;
  for (const event of events) state = decider.evolve(state, event);
  return state;
}

/** Compile-time exhaustiveness check for the `default` branch of a switch over a union. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
