import { mergeUpcasterSteps, upcasterChain, UpcastError } from './upcasting';

describe('upcasterChain', () => {
  const chain = upcasterChain({
    Created: {
      1: (d) => ({ ...d, priority: 'NORMAL' }),
      2: (d) => ({ ...d, title: String(d['name']), name: undefined }),
    },
  });

  it('lifts an old event step by step to the current version', () => {
    const lifted = chain.upcast({ type: 'Created', schemaVersion: 1, data: { name: 'a' } });
    expect(lifted).toEqual({
      type: 'Created',
      schemaVersion: 3,
      data: { name: undefined, title: 'a', priority: 'NORMAL' },
    });
    expect(chain.currentVersions.get('Created')).toBe(3);
  });

  it('starts from the stored version, not from 1', () => {
    expect(chain.upcast({ type: 'Created', schemaVersion: 2, data: { name: 'b', priority: 'HIGH' } }).data).toEqual({
      name: undefined,
      title: 'b',
      priority: 'HIGH',
    });
  });

  it('returns current events, events of types without steps and newer events untouched', () => {
    const current = { type: 'Created', schemaVersion: 3, data: { title: 'c' } };
    const other = { type: 'Deleted', schemaVersion: 1, data: {} };
    const newer = { type: 'Created', schemaVersion: 4, data: { x: 1 } };
    expect(chain.upcast(current)).toBe(current);
    expect(chain.upcast(other)).toBe(other);
    expect(chain.upcast(newer)).toBe(newer);
  });

  it('never changes the stored event it was given', () => {
    const stored = { type: 'Created', schemaVersion: 1, data: { name: 'd' } };
    chain.upcast(stored);
    expect(stored).toEqual({ type: 'Created', schemaVersion: 1, data: { name: 'd' } });
  });

  it('refuses a chain with a missing step', () => {
    expect(() => upcasterChain({ Created: { 2: (d) => d } })).toThrow('no step from version 1 to 2');
  });

  it('fails with a coded error on data that is not an object', () => {
    expect(() => chain.upcast({ type: 'Created', schemaVersion: 1, data: 'text' })).toThrow(UpcastError);
  });
});

describe('mergeUpcasterSteps', () => {
  const lift = (data: Record<string, unknown>) => ({ ...data, lifted: true });

  it('chains the steps of every set, each type from its own set', () => {
    const chain = upcasterChain(
      mergeUpcasterSteps([{ TaskCreated: { 1: lift } }, { ProjectCreated: { 1: lift, 2: lift } }]),
    );
    expect(Object.fromEntries(chain.currentVersions)).toEqual({ TaskCreated: 2, ProjectCreated: 3 });
  });

  it('refuses a type that two sets claim', () => {
    expect(() => mergeUpcasterSteps([{ Created: { 1: lift } }, { Created: { 2: lift } }])).toThrow(
      'two sets of upcasters for the event type Created',
    );
  });
});
