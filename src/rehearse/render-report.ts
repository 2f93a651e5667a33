/**
 * A rehearsal report as a terminal reads it (table), as a change ticket carries it (Markdown) and as a
 * program reads it (JSON: the report object itself, documented in docs/rehearse.md).
 */
import { formatBytes, formatCpu, formatDuration } from '../core/index.ts';
import { describeMethod, type RehearsalComparison } from './compare.ts';
import type { CapacityShortfall, RehearsalReport, Spread } from './rehearse.ts';

export function renderReportJson(report: RehearsalReport | RehearsalComparison): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const seconds = (s: number) => formatDuration(s * 1000);
const spread = (s: Spread | null) =>
  s ? `${seconds(s.medianSeconds)} (p90 ${seconds(s.p90Seconds)})` : 'does not finish';

/** The lines both text forms share, as label/value pairs and lists. */
function sections(report: RehearsalReport) {
  const { outcome } = report;
  const verdict = outcome.finishes
    ? `finishes in every run (${report.runs})`
    : `does not finish in ${report.runs - outcome.runsSucceeded} of ${report.runs} run(s): ${outcome.reason}`;
  const window = report.window
    ? `${seconds(report.window.seconds)} from ${report.window.opensAt}: ${
        report.window.fits === null
          ? 'no run finished'
          : report.window.fits
            ? 'the upgrade fits (p90)'
            : 'the upgrade does NOT fit (p90)'
      }`
    : 'none in the policy';
  const timings = Object.entries(report.timings).map(
    ([name, t]) => `${name} ${seconds(t.seconds)} (${t.source === 'policy' ? 'from the policy' : 'default'})`,
  );
  return {
    summary: [
      [
        'cluster',
        `${report.cluster.server} (${report.cluster.version}, ${report.cluster.nodes} nodes, ${report.cluster.pods} pods)`,
      ],
      ['target', report.target],
      ['outcome', verdict],
      ['total', spread(report.total)],
      ['node phase', spread(report.nodePhase)],
      ...(report.plan
        ? ([
            [
              'plan',
              `node phase estimated ${seconds(report.plan.nodePhaseEstimateSeconds)}${report.nodePhase ? ` (the rehearsal's median ×${(report.nodePhase.medianSeconds / Math.max(1, report.plan.nodePhaseEstimateSeconds)).toFixed(2)} of it)` : ''}; no run can take less than ${seconds(report.plan.nodePhaseLowerBoundSeconds)} (its lower bound)`,
            ],
          ] as Array<[string, string]>)
        : []),
      ['maintenance window', window],
      ['timings', timings.join(', ')],
      ['runs', `${report.runs}, seed ${report.seed}, jittered ±20 %, ${report.wallSeconds} s of wall time`],
    ] as Array<[string, string]>,
    phases: report.phases.map((p) => [p.name, seconds(p.medianSeconds), seconds(p.p90Seconds)]),
    budgets: report.blockingBudgets.map((b) => [b.budget, seconds(b.medianSeconds), b.nodes.join(', ')]),
    deadlocks: report.deadlocks.map(
      (d) =>
        `${d.budget} (${d.rule}, ${d.expectedPods} expected pod(s)) never allows an eviction: the drains of ${d.nodes.join(', ')} cannot finish; its pods: ${d.pods.join(', ')}`,
    ),
    timeline: report.timeline.map((t) => [
      t.node,
      seconds(t.startSeconds),
      t.endSeconds === null ? 'never' : seconds(t.endSeconds),
    ]),
    downtime: report.singleReplicaDowntime.map((d) => [
      d.workload,
      seconds(d.medianSeconds),
      seconds(d.p90Seconds),
    ]),
    notUpgraded: report.nodesNotUpgraded.map((n) => `${n.node} (in ${n.runs} run(s)): ${n.reason}`),
    shortfalls: report.capacityShortfalls.map((c) => [
      c.pool,
      c.cause === 'held'
        ? `held to ${c.inFlight} of ${c.allowed} nodes in flight`
        : 'pods Pending: no room on the rest',
      shortOf(c),
      `${seconds(c.medianSeconds)} (p90 ${seconds(c.p90Seconds)})`,
    ]),
  };
}

/** "4 pod(s), 1500m CPU, 768Mi memory": what a shortfall lacks. */
function shortOf(c: CapacityShortfall): string {
  const what = c.cause === 'held' ? 'to place' : 'Pending';
  return [
    `${c.pods} pod(s) ${what}`,
    c.cpuMillis > 0 ? `${formatCpu(c.cpuMillis / 1000)} CPU` : '',
    c.memoryBytes > 0 ? `${formatBytes(c.memoryBytes)} memory` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export function renderReportTable(report: RehearsalReport): string {
  const s = sections(report);
  const width = Math.max(...s.summary.map(([k]) => k.length));
  const lines = s.summary.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  const table = (title: string, header: string[], rows: string[][]) => {
    if (rows.length === 0) return;
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    lines.push('', title);
    for (const r of [header, ...rows])
      lines.push(`  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd());
  };
  table('Phases (median, p90)', ['phase', 'median', 'p90'], s.phases);
  table('Budgets that held drains (clock summed over nodes, median)', ['budget', 'held', 'nodes'], s.budgets);
  table('Single-replica workloads down (no Ready replica)', ['workload', 'median', 'p90'], s.downtime);
  table(
    'Capacity shortfalls (the evicted pods do not fit the rest)',
    ['pool', 'what', 'short', 'for (median)'],
    s.shortfalls,
  );
  table('Timeline of run 1 (clock from the run start)', ['node', 'start', 'end'], s.timeline);
  if (s.deadlocks.length) lines.push('', 'Deadlocks', ...s.deadlocks.map((d) => `  ${d}`));
  if (s.notUpgraded.length) lines.push('', 'Nodes not upgraded', ...s.notUpgraded.map((n) => `  ${n}`));
  if (report.notes.length) lines.push('', 'Notes', ...report.notes.map((n) => `  - ${n}`));
  return `${lines.join('\n')}\n`;
}

export function renderReportMarkdown(report: RehearsalReport): string {
  const s = sections(report);
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const lines = [`# Upgrade rehearsal: ${report.cluster.version} → ${report.target}`, ''];
  lines.push('| | |', '|---|---|', ...s.summary.map(([k, v]) => `| ${k} | ${cell(v)} |`));
  const table = (title: string, header: string[], rows: string[][]) => {
    if (rows.length === 0) return;
    lines.push('', `## ${title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
    for (const r of rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  };
  table('Phases', ['phase', 'median', 'p90'], s.phases);
  table('Budgets that held drains', ['budget', 'held (median)', 'nodes'], s.budgets);
  table('Single-replica workloads down', ['workload', 'median', 'p90'], s.downtime);
  table('Capacity shortfalls', ['pool', 'what', 'short', 'for (median)'], s.shortfalls);
  table('Timeline of run 1', ['node', 'start', 'end'], s.timeline);
  if (s.deadlocks.length) lines.push('', '## Deadlocks', '', ...s.deadlocks.map((d) => `- ${d}`));
  if (s.notUpgraded.length)
    lines.push('', '## Nodes not upgraded', '', ...s.notUpgraded.map((n) => `- ${n}`));
  if (report.notes.length) lines.push('', '## Notes', '', ...report.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

/** Why a peer's total is its node phase alone, when a peer is compared. */
function peerNote(comparison: RehearsalComparison): string[] {
  if (!comparison.entries.some((e) => e.method.kind === 'peer')) return [];
  return [
    '',
    'The loops (one node at a time, fixed concurrency) upgrade worker nodes only: their copies start with the control plane at the target, so their total is the node phase; values are ranked by node phase.',
  ];
}

/** One row per value compared, and the recommendation, as a terminal or a change ticket reads them. */
export function renderComparison(comparison: RehearsalComparison, format: 'table' | 'markdown'): string {
  const header = ['value', 'how', 'outcome', 'total', 'node phase', 'violations'];
  const rows = comparison.entries.map(({ value, method, report }) => [
    String(value),
    describeMethod(method),
    report.outcome.finishes ? 'finishes' : `does not finish (${report.outcome.runsSucceeded}/${report.runs})`,
    spread(report.total),
    spread(report.nodePhase),
    String(report.violations),
  ]);
  const best = comparison.entries.find((e) => e.value === comparison.recommended);
  const verdict = best
    ? `${best.value} (${describeMethod(best.method)}): the fastest (median node phase) that finishes every run and keeps every budget`
    : 'no value finishes every run and keeps every budget';
  const first = comparison.entries[0]?.report;
  const title = first
    ? `${first.cluster.version} → ${first.target}, ${first.runs} run(s) each, seed ${first.seed}`
    : '';
  if (format === 'markdown') {
    return `${[
      `# Upgrade rehearsal compared: ${title}`,
      '',
      `| ${header.join(' | ')} |`,
      `|${header.map(() => '---').join('|')}|`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
      `Recommended: ${verdict}.`,
      ...peerNote(comparison),
    ].join('\n')}\n`;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[title, '', line(header), ...rows.map(line), '', `recommended: ${verdict}`, ...peerNote(comparison)].join('\n')}\n`;
}
