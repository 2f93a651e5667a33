/**
 * IntOrString values such as `maxUnavailable: 2` or `maxUnavailable: "25%"`
 * (k8s.io/apimachinery/pkg/util/intstr.GetScaledValueFromIntOrPercent).
 */
export type IntOrString = number | string;

export class IntOrStringError extends Error {
  constructor(readonly input: unknown) {
    super(`${JSON.stringify(input)} is neither an integer nor a percentage like "25%"`);
    this.name = 'IntOrStringError';
  }
}

export function isPercent(value: IntOrString): value is string {
  return typeof value === 'string' && /^\d+%$/.test(value);
}

export function isValidIntOrPercent(value: unknown): value is IntOrString {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0;
  return typeof value === 'string' && (/^\d+%$/.test(value) || /^\d+$/.test(value));
}

/**
 * The value scaled against `total`. Example: "25%" of 10 is 2.5 → 3 rounding up (maxUnavailable in PDBs)
 * or 2 rounding down (minAvailable-style callers choose). Plain integers (or "3") are returned as is.
 */
export function scaledValue(value: IntOrString, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  if (/^\d+$/.test(value)) return Number(value);
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
