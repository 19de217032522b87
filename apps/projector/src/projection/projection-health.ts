import type { ReadinessCheck } from '@cqrs/http';
import { totalLag } from '@cqrs/messaging/consumer';
import type { RunningProjection } from '@cqrs/projection';

/** What readiness needs of a projection. */
export type ProjectionProbe = Pick<RunningProjection, 'name' | 'status' | 'lag'>;

/**
 * A projection's readiness: its consumer runs (or an operator paused it), and its group is at most `maxLag` records
 * behind (0: not checked). The lag lookup is bounded by `timeoutMs`, so a broker that stopped
 * answering fails the probe instead of hanging it.
 */
export function projectionReadiness(runner: ProjectionProbe, maxLag: number, timeoutMs = 3000): ReadinessCheck {
  return {
    name: `projection:${runner.name}`,
    check: async () => {
      const status = runner.status();
      // Paused on purpose, and the admin API (served on this port) must stay reachable to resume it.
      if (status.paused) return { generation: status.generation, groupId: status.groupId, paused: true };
      if (!status.running) throw new Error(status.problem ?? 'starting');
      const details = { generation: status.generation, groupId: status.groupId };
      if (maxLag === 0) return details;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`consumer lag unknown: no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      const lag = totalLag(await Promise.race([runner.lag(), timeout]).finally(() => clearTimeout(timer)));
      if (lag > maxLag)
        throw new Error(`${lag} records behind, over PROJECTOR_READY_MAX_LAG=${maxLag}: read models are stale`);
      return { ...details, lag };
    },
  };
}
