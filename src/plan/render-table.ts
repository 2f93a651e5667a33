import { formatDuration } from '../core/index.ts';
import { blockedSummary } from './plan-blockers.ts';
import { isNodeWave, type Plan } from './plan-types.ts';
import { describeFlowGroup } from './reasons.ts';
import { describeTimings } from './timing-sources.ts';

/** A compact view for a terminal: one row per step, nodes abbreviated. */
export function renderPlanTable(plan: Plan): string {
  const rows: string[][] = [['#', 'PHASE', 'STEP', 'NODES', 'EST.']];
  // Pools flowing side by side are numbered as one group: "3a", "3b", … (their steps overlap in time).
  const groupMark = new Map<string, string>();
  let n = 0;
  for (const phase of plan.phases) {
    for (const step of phase.steps) {
      n++;
      rows.push([
        String(n),
        phase.flowGroup !== undefined ? `${phase.kind} ${markOf(groupMark, phase.flowGroup)}` : phase.kind,
        step.title +
          (isNodeWave(step) && step.respectsBudgets === false ? ' [budget!]' : '') +
          (isNodeWave(step) && step.fitsCapacity === false ? ' [capacity!]' : ''),
        step.kind === 'etcd-member' ? `etcd:${step.member}` : abbreviate(step.nodes),
        formatDuration(step.estimateSeconds * 1000),
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '),
  );
  const e = plan.estimate;
  const header = [
    `Plan ${plan.id}: ${plan.source} → ${plan.target}${plan.hops.length > 1 ? ` via ${plan.hops.join(' → ')}` : ''}`,
    `Cluster ${plan.cluster.server} (${plan.cluster.fingerprint})`,
    `Estimated ${formatDuration(e.totalSeconds * 1000)}; nodes ${formatDuration(e.nodePhaseSeconds * 1000)} in ${e.nodeWaves} wave(s)` +
      ` (lower bound ${formatDuration(e.nodePhaseLowerBoundSeconds * 1000)})`,
    ...describeTimings(plan).map((line) => `Timings: ${line}`),
    ...(e.flowGroups ?? []).map((g) => `Together ${markOf(groupMark, g.id)}: ${describeFlowGroup(g)}`),
    '',
  ];
  const warnings = plan.warnings.length > 0 ? ['', 'Warnings:', ...plan.warnings.map((w) => `  - ${w}`)] : [];
  return `${[...blockerLines(plan), ...header, ...lines, ...warnings].join('\n')}\n`;
}

/** First, before anything else: a reviewer must not miss that this plan cannot be applied as it stands. */
function blockerLines(plan: Plan): string[] {
  const blockers = plan.blockers ?? [];
  if (blockers.length === 0) return [];
  const lines = [`BLOCKED: ${blockedSummary(blockers)}`];
  for (const b of blockers) {
    lines.push(`  [${b.check}] ${b.subject}`, `      ${b.message}`);
    if (b.fix) lines.push(`      fix: ${b.fix}`);
  }
  return [...lines, ''];
}

/** "[together 1]": the label of a flow group in the table, numbered in plan order. */
function markOf(marks: Map<string, string>, group: string): string {
  let mark = marks.get(group);
  if (mark === undefined) {
    mark = `[together ${marks.size + 1}]`;
    marks.set(group, mark);
  }
  return mark;
}

function abbreviate(nodes: readonly string[]): string {
  if (nodes.length === 0) return '-';
  if (nodes.length <= 3) return nodes.join(',');
  return `${nodes.slice(0, 2).join(',')},+${nodes.length - 2}`;
}
