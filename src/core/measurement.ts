/** A measured value (a gate's value or baseline) for a person: whole numbers as they are, others to 4 significant digits. */
export function formatMeasurement(v: number | undefined): string {
  if (v === undefined) return '-';
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}
