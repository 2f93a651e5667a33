/**
 * The few shapes of Grafana's dashboard JSON the exported dashboards use (schemaVersion 39: Grafana 10.3
 * and later import it as it is), and a layout that places panels left to right in rows of 24 columns.
 */

export const SCHEMA_VERSION = 39;

/** Every panel queries the Prometheus the `datasource` variable names (Grafana's `${…}`, not ours). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana substitutes it, not JavaScript.
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

export interface Target {
  expr: string;
  legend?: string;
  /** Table panels: one value per series, not a range. */
  instant?: boolean;
}

export interface PanelSpec {
  type: 'timeseries' | 'stat' | 'bargauge' | 'table' | 'state-timeline' | 'gauge';
  title: string;
  description: string;
  targets: Target[];
  /** Columns of 24 (default 12) and rows of 30 px (default 8). */
  width?: number;
  height?: number;
  unit?: string;
  min?: number;
  max?: number;
  /** Value → text (state-timeline and stat panels of an enumerated value). */
  valueText?: Record<number, { text: string; color: string }>;
  thresholds?: Array<{ value: number | null; color: string }>;
  stacking?: boolean;
}

export interface Variable {
  name: string;
  label: string;
  description: string;
  /** A Prometheus query variable (`label_values(...)`), or a constant the user may edit (`custom`/`textbox`). */
  query?: string;
  textbox?: string;
  multi?: boolean;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: Variable[];
  rows: Array<{ title: string; panels: PanelSpec[] }>;
  /** Annotations drawn on every time series: one query each. */
  annotations?: Array<{ name: string; expr: string; title: string; text: string }>;
}

export function renderDashboard(spec: DashboardSpec): Record<string, unknown> {
  const panels: Array<Record<string, unknown>> = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const w = p.width ?? 12;
      const h = p.height ?? 8;
      if (x + w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      panels.push(renderPanel(p, id++, { h, w, x, y }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['midflight', 'kubernetes', 'upgrade'],
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    editable: true,
    graphTooltip: 1,
    timezone: 'browser',
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    templating: { list: [datasourceVariable(), ...spec.variables.map(renderVariable)] },
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        ...(spec.annotations ?? []).map((a) => ({
          name: a.name,
          datasource: DATASOURCE,
          enable: true,
          iconColor: 'orange',
          expr: a.expr,
          step: '60s',
          titleFormat: a.title,
          textFormat: a.text,
          useValueForTime: false,
        })),
      ],
    },
    panels,
  };
}

function renderPanel(
  p: PanelSpec,
  id: number,
  gridPos: { h: number; w: number; x: number; y: number },
): Record<string, unknown> {
  const mappings = p.valueText
    ? [
        {
          type: 'value',
          options: Object.fromEntries(
            Object.entries(p.valueText).map(([value, { text, color }], index) => [
              value,
              { text, color, index },
            ]),
          ),
        },
      ]
    : [];
  const defaults: Record<string, unknown> = {
    unit: p.unit ?? 'short',
    mappings,
    color: { mode: p.valueText ? 'thresholds' : 'palette-classic' },
    thresholds: {
      mode: 'absolute',
      steps: p.thresholds ?? [{ value: null, color: 'green' }],
    },
  };
  if (p.min !== undefined) defaults.min = p.min;
  if (p.max !== undefined) defaults.max = p.max;
  if (p.type === 'timeseries')
    defaults.custom = {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: p.stacking ? 30 : 10,
      showPoints: 'never',
      spanNulls: false,
      stacking: { mode: p.stacking ? 'normal' : 'none', group: 'A' },
    };
  return {
    id,
    type: p.type,
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    gridPos,
    targets: p.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: t.expr,
      legendFormat: t.legend ?? '__auto',
      range: !t.instant,
      instant: Boolean(t.instant),
      ...(p.type === 'table' ? { format: 'table' } : {}),
    })),
    fieldConfig: { defaults, overrides: [] },
    options: panelOptions(p),
  };
}

function panelOptions(p: PanelSpec): Record<string, unknown> {
  const reduce = { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } };
  switch (p.type) {
    case 'timeseries':
      return {
        legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
        tooltip: { mode: 'multi', sort: 'desc' },
      };
    case 'stat':
      return { ...reduce, colorMode: 'value', graphMode: 'area', justifyMode: 'auto', textMode: 'auto' };
    case 'gauge':
      return { ...reduce, showThresholdLabels: false, showThresholdMarkers: true };
    case 'bargauge':
      return { ...reduce, displayMode: 'gradient', orientation: 'horizontal', showUnfilled: true };
    case 'table':
      return { showHeader: true, cellHeight: 'sm' };
    case 'state-timeline':
      return {
        mergeValues: true,
        showValue: 'auto',
        alignValue: 'left',
        rowHeight: 0.9,
        legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      };
  }
}

function datasourceVariable(): Record<string, unknown> {
  return {
    name: 'datasource',
    label: 'Prometheus',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    refresh: 1,
    regex: '',
    options: [],
  };
}

function renderVariable(v: Variable): Record<string, unknown> {
  if (v.query !== undefined)
    return {
      name: v.name,
      label: v.label,
      description: v.description,
      type: 'query',
      datasource: DATASOURCE,
      definition: v.query,
      query: { query: v.query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
      refresh: 2,
      sort: 1,
      multi: v.multi ?? true,
      includeAll: true,
      allValue: '.*',
      current: {},
      hide: 0,
      regex: '',
      options: [],
    };
  return {
    name: v.name,
    label: v.label,
    description: v.description,
    type: 'textbox',
    query: v.textbox ?? '',
    current: { text: v.textbox ?? '', value: v.textbox ?? '' },
    hide: 0,
    options: [],
  };
}
