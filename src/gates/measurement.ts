/**
 * What a provider's measurement can end in besides a number. Both count against the gate: a query that
 * returned nothing is inconclusive (the run pauses by default), one that failed is a failed measurement.
 */

/** The query ran but measured nothing: an empty result, NaN (0/0: no traffic), no nodes to count. */
export class NoDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoDataError';
  }
}

/** Reads one number from a provider's answer: a number, a numeric string, or true/false (1/0). */
export function numberFrom(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') {
    const text = value.trim();
    if (text === 'true' || text === 'false') return text === 'true' ? 1 : 0;
    const n = Number(text);
    if (Number.isFinite(n)) return n;
    if (/^[+-]?nan$/i.test(text)) throw new NoDataError(`${what} is NaN (nothing to divide by: no traffic?)`);
  }
  if (value === undefined || value === null || value === '') throw new NoDataError(`${what} is empty`);
  const shown = JSON.stringify(value);
  throw new Error(`${what} is ${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown}, not a number`);
}

/**
 * The value at a simple path in parsed JSON: `status`, `nodes[0].up`, `a.b.c`. Each step must exist;
 * a missing one names how far the path got.
 */
export function readJsonField(doc: unknown, path: string): unknown {
  const steps = path.match(/[^.[\]]+|\[\d+\]/g) ?? [];
  let current: unknown = doc;
  let walked = '';
  for (const step of steps) {
    const index = /^\[(\d+)\]$/.exec(step);
    if (index) {
      if (!Array.isArray(current)) throw new NoDataError(`${walked || 'the answer'} is not a list`);
      current = current[Number(index[1])];
      walked += step;
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current))
        throw new NoDataError(`${walked || 'the answer'} is not an object`);
      current = (current as Record<string, unknown>)[step];
      walked += walked ? `.${step}` : step;
    }
    if (current === undefined) throw new NoDataError(`the answer has no field ${walked}`);
  }
  return current;
}

/** A number read from text (an HTTP body, a command's output): JSON then a field, or the text itself. */
export function numberFromText(text: string, field: string | undefined, what: string): number {
  if (field === undefined) {
    const lines = text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (lines.length === 0) throw new NoDataError(`${what} is empty`);
    return numberFrom(lines[lines.length - 1], `${what} (its last line)`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`${what} is not JSON, so it has no field ${field}: ${text.slice(0, 80)}`);
  }
  return numberFrom(readJsonField(doc, field), `${what}'s field ${field}`);
}
