import { Module } from '@nestjs/common';
import { composeContexts, type ContextModule } from './context-module';

@Module({})
class OneModule {}

const context = (name: string, tokens: string[]): ContextModule<{ prefix: string }> => ({
  name,
  module: (config) => ({ module: OneModule, providers: [{ provide: `${config.prefix}${name}`, useValue: name }] }),
  readiness: {
    inject: tokens,
    checks: (...deps: never[]) =>
      (deps as string[]).map((d) => ({ name: `${name}:${d}`, check: () => Promise.resolve() })),
  },
});

describe('composeContexts', () => {
  it('builds every context’s module from the app’s configuration', () => {
    const composed = composeContexts([context('tasks', []), context('projects', [])], { prefix: 'p-' });
    expect(composed.modules.map((m) => m.providers)).toEqual([
      [{ provide: 'p-tasks', useValue: 'tasks' }],
      [{ provide: 'p-projects', useValue: 'projects' }],
    ]);
  });

  it('gives each context its own injected values for its checks', () => {
    const composed = composeContexts(
      [
        context('tasks', ['A', 'B']),
        { name: 'quiet', module: () => ({ module: OneModule }) },
        context('projects', ['C']),
      ],
      { prefix: '' },
    );
    expect(composed.inject).toEqual(['A', 'B', 'C']);
    expect(composed.checks(['a', 'b', 'c']).map((c) => c.name)).toEqual(['tasks:a', 'tasks:b', 'projects:c']);
  });

  it('refuses a context registered twice', () => {
    expect(() => composeContexts([context('tasks', []), context('tasks', [])], { prefix: '' })).toThrow(
      'the context "tasks" is registered twice',
    );
  });
});
