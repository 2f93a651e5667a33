/**
 * The most nodes of a worker pool an upgrade takes out at once, from the pool's settings. The planner lets
 * no more than this flow at once; the `capacity` preflight check tests this many out together. Both read it
 * here so they cannot disagree.
 */
import { type IntOrString, isZeroIntOrPercent, nodesAtOnce } from './intorstr.ts';

export interface PoolInFlightSetting {
  maxUnavailable?: IntOrString;
  maxSurge?: IntOrString;
  /** 'in-place' (drain, upgrade, return the node), or 'replace' and 'surge' (new nodes; maxSurge counts). */
  strategy?: string;
}

export interface PoolInFlightLimit {
  /** Existing nodes that may be unavailable at once (0 when maxUnavailable is 0; 1 when unset). */
  unavailable: number;
  /** Replacement nodes that may be added at once (only for the replace and surge strategies). */
  surge: number;
  /** Nodes in flight at once: unavailable + surge, at least 1 so an upgrade always progresses. */
  maxNodes: number;
}

/**
 * Worked example: a pool of 10 with maxUnavailable "25%" and maxSurge 2, strategy replace:
 * unavailable = floor(2.5) = 2, surge = 2, so 4 old nodes at a time, 2 of them covered by new nodes.
 * The same pool in place: 2. With maxUnavailable 0 in place: 1 (never stuck at zero).
 */
export function poolInFlightLimit(setting: PoolInFlightSetting, poolSize: number): PoolInFlightLimit {
  const { maxUnavailable, maxSurge, strategy } = setting;
  const unavailable =
    maxUnavailable !== undefined && isZeroIntOrPercent(maxUnavailable)
      ? 0
      : nodesAtOnce(maxUnavailable, poolSize);
  const surge =
    (strategy === 'replace' || strategy === 'surge') &&
    maxSurge !== undefined &&
    !isZeroIntOrPercent(maxSurge)
      ? nodesAtOnce(maxSurge, poolSize)
      : 0;
  return { unavailable, surge, maxNodes: Math.max(1, unavailable + surge) };
}
