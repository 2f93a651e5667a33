import { stringify } from 'yaml';
import { UsageError } from './errors.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string, allowed: readonly string[] = OUTPUT_FORMATS): string {
  if (!allowed.includes(value)) {
    throw new UsageError(`unknown output format "${value}": use one of ${allowed.join(', ')}`);
  }
  return value;
}

/** Data as JSON or YAML for scripts; `table` is rendered by each command from the same data. */
export function renderData(data: unknown, format: 'json' | 'yaml'): string {
  return format === 'json'
    ? `${JSON.stringify(data, null, 2)}\n`
    : stringify(data, { aliasDuplicateObjects: false });
}

/** A plain text table with left-aligned columns, in the style of kubectl's output. */
export function renderTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return `${cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
