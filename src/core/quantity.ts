/**
 * Kubernetes resource quantities (`100m`, `1.5`, `512Mi`, `2G`, `1e3`) as plain numbers in base units:
 * cores for CPU, bytes for memory, a count for pods.
 */
export class QuantityParseError extends Error {
  constructor(readonly input: string) {
    super(`"${input}" is not a valid resource quantity (e.g. 250m, 2, 512Mi, 1G)`);
    this.name = 'QuantityParseError';
  }
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
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

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** Whether `input` is a quantity the API server accepts (signs included: callers refuse negatives). */
export function isQuantity(input: string): boolean {
  return QUANTITY.test(input);
}

/** The quantity in base units. Numbers pass through (the API sometimes returns integers for counts). */
export function parseQuantity(input: string | number): number {
  if (typeof input === 'number') return input;
  const m = QUANTITY.exec(input.trim());
  if (!m) throw new QuantityParseError(input);
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * SUFFIX[m[3] ?? '']!;
}

/** Like parseQuantity but 0 for a missing or malformed value (for reading optional requests). */
export function quantityOrZero(input: string | number | undefined | null): number {
  if (input === undefined || input === null) return 0;
  try {
    return parseQuantity(input);
  } catch {
    return 0;
  }
}

/** CPU in whole millicores, rounded up as the scheduler does (`0.1` → 100, `1m` → 1). */
export function cpuMillis(input: string | number | undefined | null): number {
  return Math.ceil(quantityOrZero(input) * 1000 - 1e-9);
}

/** Formats CPU cores for people: 0.25 → "250m", 2 → "2". */
export function formatCpu(cores: number): string {
  const millis = Math.round(cores * 1000);
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Formats bytes with the largest binary suffix that keeps one decimal: 1610612736 → "1.5Gi". */
export function formatBytes(bytes: number): string {
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = Math.round(value * 10) / 10;
  return `${rounded}${units[unit]}`;
}

/** CPU in millicores (`250m` → 250, `1.5` → 1500), rounded up; throws QuantityParseError when malformed. */
export function parseCpuMillis(input: string | number): number {
  return Math.ceil(parseQuantity(input) * 1000 - 1e-9);
}

/** Memory or storage in bytes (`512Mi` → 536870912), rounded up; throws QuantityParseError when malformed. */
export function parseBytes(input: string | number): number {
  return Math.ceil(parseQuantity(input) - 1e-9);
}
