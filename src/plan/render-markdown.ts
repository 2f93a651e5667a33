import { formatDuration } from '../core/index.ts';
import { blockedSummary } from './plan-blockers.ts';
import { isNodeBatch, type Plan, type PlanStep } from './plan-types.ts';
import { describeReason } from './reasons.ts';

const d = (s: number) => formatDuration(s * 1000);

/**
 * The runbook: every step with why it is shaped that way, what is checked before moving on and how to roll it
 * back, for review and for a change ticket. Deterministic, so it can be diffed and kept as a golden file.
 */
export function renderRunbook(plan: Plan): string {
  const out: string[] = [];
  const e = plan.estimate;
  out.push(`# Upgrade runbook: ${plan.source} → ${plan.target}`, '');
  const blockers = plan.blockers ?? [];
  if (blockers.length > 0) {
    out.push(`**Blocked**: ${blockedSummary(blockers)}.`, '', '## Blockers', '');
    for (const b of blockers)
      out.push(`- **${b.check}** ${b.subject}: ${b.message}${b.fix ? ` Fix: ${b.fix}` : ''}`);
    out.push('');
  }
  // Note: a list rather than a table, so Markdown formatters leave the golden files alone.
  out.push(`- Plan: \`${plan.id}\``);
  out.push(`- Cluster: ${plan.cluster.server} (fingerprint \`${plan.cluster.fingerprint}\`)`);
  out.push(`- Snapshot: ${plan.snapshotTakenAt}`);
  out.push(`- Control-plane hops: ${plan.hops.length > 0 ? plan.hops.join(' → ') : 'none (nodes only)'}`);
  out.push(`- Estimated duration: ${d(e.totalSeconds)}`);
  out.push(
    `- Node phases: ${d(e.nodePhaseSeconds)} in ${e.nodeRounds} rounds; lower bound ${d(e.nodePhaseLowerBoundSeconds)} (${e.lowerBound.rounds} rounds)`,
  );
  out.push(`- Drain: timeout ${plan.policy.drain.timeout}, on timeout: ${plan.policy.drain.onTimeout}`, '');
  if (plan.warnings.length > 0) {
    out.push('## Warnings', '', ...plan.warnings.map((w) => `- ${w}`), '');
  }
  const bounded = e.lowerBound.pools.filter((p) => p.tightestBudget);
  if (bounded.length > 0) {
    out.push('## What limits the node phases', '');
    for (const p of bounded) {
      const b = p.tightestBudget!;
      out.push(
        `- Pool ${p.pool}: budget ${b.budget} allows ${b.allowed} disruption(s) and its pods sit on ${b.nodes} nodes, so at least ${b.rounds} rounds (maxUnavailable alone: ${p.roundsByMaxUnavailable}).`,
      );
    }
    out.push('');
  }
  let n = 0;
  for (const phase of plan.phases) {
    out.push(`## ${phase.name}`, '', `Estimated ${d(phase.estimateSeconds)}.`, '');
    for (const s of phase.steps) {
      n++;
      out.push(...renderStep(n, s));
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function renderStep(n: number, s: PlanStep): string[] {
  const lines = [`### ${n}. ${s.title}`, ''];
  lines.push(
    `- [ ] Step \`${s.id}\` (${s.kind}, est. ${d(s.estimateSeconds)}${s.soakSeconds ? `, soak ${d(s.soakSeconds)}` : ''})`,
  );
  if (s.nodes.length > 0) lines.push(`- Nodes: ${s.nodes.join(', ')}`);
  if (isNodeBatch(s) && s.respectsBudgets === false)
    lines.push('- **Exceeds a disruption budget**: the drain will wait or time out.');
  if (isNodeBatch(s) && s.fitsCapacity === false)
    lines.push('- **Not enough capacity**: some pods will stay Pending.');
  if (s.reasons.length > 0) lines.push('- Why:', ...s.reasons.map((r) => `  - ${describeReason(r)}`));
  if (s.checks.length > 0) lines.push('- Checks before continuing:', ...s.checks.map((c) => `  - [ ] ${c}`));
  lines.push(`- Rollback: ${s.rollback}`, '');
  return lines;
}
