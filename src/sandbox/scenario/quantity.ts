/**
 * Resource quantities ("4", "500m", "16Gi", "1.5") as the scenario and the node objects carry them, and
 * their numeric value for the little arithmetic the builder does (fitting pre-bound pods on nodes).
 */
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function isQuantity(text: string): boolean {
  return QUANTITY.test(text);
}

/** The value of a quantity in base units (cores, bytes, pods); NaN when it does not parse. */
export function quantityValue(text: string | number): number {
  if (typeof text === 'number') return text;
  const match = QUANTITY.exec(text);
  if (!match) return Number.NaN;
  const suffix = match[2] ?? '';
  const scale = SUFFIX[suffix] ?? 10 ** Number(suffix.slice(1));
  return Number(match[1]) * scale;
}

/** CPU in millicores, rounded up as the API server rounds sub-milli values. */
export function cpuMillis(text: string | number): number {
  return Math.ceil(quantityValue(text) * 1000 - 1e-9);
}
