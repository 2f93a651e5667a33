/**
 * What earlier runs on one cluster measured about its worker nodes, per pool: the durations `plan` uses in
 * place of the policy's defaults (store/measured-history.ts derives them; plan/planner.ts uses them).
 * Every duration is a median over succeeded node steps (the fastest ones the least), in whole seconds of the
 * cluster's clock.
 */
export interface PoolMeasurement {
  /** Cordon to drained: the evictions, as the budgets and the pods' exits paced them. */
  nodeDrainSeconds?: number;
  /** The provider's work for one minor (a node two minors behind is measured per minor). */
  nodeUpgradeSeconds?: number;
  /** Upgraded to Ready at the version (the verify sub-step). */
  nodeReadySeconds?: number;
  /**
   * The fastest node's upgrade for one minor and the fastest return to Ready (each the least measured,
   * rounded down): what the plan's lower bound takes as a node's cycle at its fastest.
   */
  fastestUpgradeSeconds?: number;
  fastestReadySeconds?: number;
  /**
   * The fastest node's drain, cordon to drained (the least measured, rounded down): a node cannot reboot
   * before its pods have stopped, so the lower bound adds it to the cycle (see plan/lower-bound.ts).
   */
  fastestDrainSeconds?: number;
  /** Node steps measured. */
  nodes: number;
  /** Runs they come from. */
  runs: number;
}

export interface MeasuredTimings {
  /** Succeeded runs on the cluster that measured at least one node. */
  runs: number;
  pools: Record<string, PoolMeasurement>;
}

/** The median of `values` (the mean of the middle two for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
