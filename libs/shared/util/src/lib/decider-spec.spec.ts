import { AssertionError } from 'node:assert';
import { assertNever, type Decider, replay } from './decider';
import { deciderSpec } from './decider-spec';
import { DomainError } from './domain-error';

// A counter that can be incremented up to a limit: enough to exercise every branch of the harness.
type Event = { type: 'Incremented'; data: { by: number } };
type Command = { type: 'Increment'; by: number } | { type: 'Boom' };
const counter: Decider<number, Command, Event> = {
  initialState: () => 0,
  evolve: (state, event) => state + event.data.by,
  decide: (command, state) => {
    switch (command.type) {
      case 'Increment':
        if (state + command.by > 3) throw new DomainError('LIMIT', 'conflict', 'over the limit');
        return command.by === 0 ? [] : [{ type: 'Incremented', data: { by: command.by } }];
      case 'Boom':
        throw new TypeError('not a domain error');
      default:
        return assertNever(command);
    }
  },
};
const { given } = deciderSpec(counter);
const inc = (by: number): Event => ({ type: 'Incremented', data: { by } });

describe('deciderSpec', () => {
  it('passes when decide returns exactly the expected events, after replaying the history', () => {
    given([inc(1), inc(1)])
      .when({ type: 'Increment', by: 1 })
      .then([inc(1)]);
  });

  it('fails when the events differ', () => {
    expect(() =>
      given([])
        .when({ type: 'Increment', by: 1 })
        .then([inc(2)]),
    ).toThrow(AssertionError);
  });

  it('thenNothingHappens fails unless decide returns no events', () => {
    given([]).when({ type: 'Increment', by: 0 }).thenNothingHappens();
    expect(() => given([]).when({ type: 'Increment', by: 1 }).thenNothingHappens()).toThrow(AssertionError);
  });

  it('thenThrows returns the domain error of the expected code', () => {
    const error = given([inc(3)])
      .when({ type: 'Increment', by: 1 })
      .thenThrows('LIMIT');
    expect(error.kind).toBe('conflict');
  });

  it('thenThrows fails on another code, on success, and rethrows non-domain errors', () => {
    expect(() =>
      given([inc(3)])
        .when({ type: 'Increment', by: 1 })
        .thenThrows('OTHER'),
    ).toThrow(/expected DomainError OTHER, got LIMIT/);
    expect(() => given([]).when({ type: 'Increment', by: 1 }).thenThrows('LIMIT')).toThrow(
      /expected DomainError LIMIT, but decide returned \[\{"type":"Incremented"/,
    );
    expect(() => given([]).when({ type: 'Boom' }).thenThrows('LIMIT')).toThrow(TypeError);
  });
});

describe('replay', () => {
  it('folds events over the initial state or a given starting state', () => {
    expect(replay(counter, [])).toBe(0);
    expect(replay(counter, [inc(1), inc(2)])).toBe(3);
    expect(replay(counter, [inc(1)], 10)).toBe(11);
  });
});
