/** A Kubernetes IntOrString: `3` or `"25%"`. */
export type IntOrString = number | string;

export class IntOrStringError extends Error {
  constructor(readonly value: unknown) {
    super(
      `invalid value for IntOrString: invalid value ${JSON.stringify(value)}: not an integer or a percentage`,
    );
    this.name = 'IntOrStringError';
  }
}

/**
 * Resolves an IntOrString against a total, as apimachinery's GetScaledValueFromIntOrPercent does: an integer
 * is taken as is; a percentage is `pct × total / 100`, rounded up or down.
 * Note: Deployments round maxSurge up and maxUnavailable down (10 replicas, 25% → surge 3, unavailable 2);
 * PodDisruptionBudgets round both maxUnavailable and minAvailable up.
 */
export function scaledValue(value: IntOrString, total: number, roundUp: boolean): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new IntOrStringError(value);
    return value;
  }
  const match = /^(-?\d+)%$/.exec(value);
  if (!match) throw new IntOrStringError(value);
  const scaled = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

export function isPercentage(value: IntOrString | undefined): value is string {
  return typeof value === 'string';
}
