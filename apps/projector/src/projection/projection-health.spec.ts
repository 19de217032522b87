import { projectionReadiness, type ProjectionProbe } from './projection-health';

describe('projector readiness', () => {
  const running = { generation: 1, groupId: 'tasks-projector.g1', running: true };
  const probe = (lags: number[], status: ReturnType<ProjectionProbe['status']> = running): ProjectionProbe => ({
    name: 'tasks',
    status: () => status,
    lag: async () => lags.map((lag, partition) => ({ topic: 'tasks.task.events', partition, lag })) as never,
  });

  it('is ready while the consumer runs and the group is within the lag threshold', async () => {
    await expect(projectionReadiness(probe([10, 5]), 100).check()).resolves.toEqual({
      generation: 1,
      groupId: 'tasks-projector.g1',
      lag: 15,
    });
  });

  it('is not ready while the group is further behind than the threshold, naming the setting', async () => {
    await expect(projectionReadiness(probe([80, 30]), 100).check()).rejects.toThrow(
      '110 records behind, over PROJECTOR_READY_MAX_LAG=100',
    );
  });

  it('is not ready while the consumer is not running, whatever the lag', async () => {
    await expect(
      projectionReadiness(
        probe([0], { generation: null, groupId: null, running: false, problem: 'broker down' }),
        100,
      ).check(),
    ).rejects.toThrow('broker down');
  });

  it('does not look at the lag when the threshold is 0, and gives up on a lag lookup that hangs', async () => {
    const hanging: ProjectionProbe = { name: 'tasks', status: () => running, lag: () => new Promise(() => undefined) };
    await expect(projectionReadiness(hanging, 0).check()).resolves.toEqual({
      generation: 1,
      groupId: 'tasks-projector.g1',
    });
    await expect(projectionReadiness(hanging, 100, 50).check()).rejects.toThrow(
      'consumer lag unknown: no answer within 50 ms',
    );
  });

  it('is named after its projection, so each context’s projection is its own readiness check', () => {
    expect(projectionReadiness({ ...probe([0]), name: 'projects' }, 100).name).toBe('projection:projects');
  });
});
