/**
 * IntOrString values such as `maxUnavailable: 2` or `maxUnavailable: "25%"`, read as Kubernetes reads them
 * (k8s.io/apimachinery/pkg/util/intstr.GetScaledValueFromIntOrPercent and the API's
 * ValidatePositiveIntOrPercent for PDB minAvailable/maxUnavailable and rolling-update maxSurge/maxUnavailable):
 * a number is a count; a string must be a percentage. IMPORTANT: `"3"` is not 3: the API server refuses it
 * ("a valid percent string must be a numeric string followed by an ending '%'") and the controllers fail
 * to scale it, so it is refused here too, for policies as for cluster objects.
 */
export type IntOrString = number | string;

export class IntOrStringError extends Error {
  constructor(readonly input: unknown) {
    super(
      typeof input === 'string' && /^\d+$/.test(input)
        ? `${JSON.stringify(input)} is a string but not a percentage: write ${input} (a number, no quotes) or "${input}%"`
        : `${JSON.stringify(input)} is neither a whole number nor a percentage like "25%"`,
    );
    this.name = 'IntOrStringError';
  }
}

const PERCENT = /^\d+%$/;

/** Whether the value is a percentage such as "25%" (digits, then %). */
export function isPercent(value: unknown): value is string {
  return typeof value === 'string' && PERCENT.test(value);
}

/** A non-negative whole number or a percentage: what the API admits for these fields. */
export function isValidIntOrPercent(value: unknown): value is IntOrString {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0;
  return isPercent(value);
}

/** `0` or `"0%"`: nothing at all may be unavailable (or surged). */
export function isZeroIntOrPercent(value: unknown): boolean {
  return value === 0 || value === '0%';
}

/**
 * The value scaled against `total`. Example: "25%" of 10 is 2.5 → 3 rounding up, 2 rounding down.
 * Note: Deployments round maxSurge up and maxUnavailable down (10 replicas, 25% → surge 3, unavailable 2);
 * PodDisruptionBudgets round both maxUnavailable and minAvailable up. A whole number is returned as is.
 * Throws IntOrStringError for anything else (a fraction, a string that is not a percentage).
 */
export function scaledValue(value: IntOrString, total: number, roundUp: boolean): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new IntOrStringError(value);
    return value;
  }
  if (!isPercent(value)) throw new IntOrStringError(value);
  const exact = (Number(value.slice(0, -1)) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/**
 * How many nodes of a pool may be unavailable at once: "25%" of 10 nodes → 2 (rounded down, as Deployments
 * round maxUnavailable), but never less than 1, so an upgrade can always progress.
 */
export function nodesAtOnce(value: IntOrString | undefined, poolSize: number): number {
  if (value === undefined) return 1;
  return Math.max(1, Math.min(Math.max(poolSize, 1), scaledValue(value, poolSize, false)));
}
