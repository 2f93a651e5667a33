import { formatDuration, PENDING_UPGRADE_TAINT_KEY } from '../core/index.ts';
import { wavesTaintingPendingNodes } from './pending-taint-waves.ts';
import { blockedSummary } from './plan-blockers.ts';
import { isNodeWave, type Plan, type PlanStep } from './plan-types.ts';
import { describeBound, describeFlowGroup, describeReason } from './reasons.ts';
import { describeTimings } from './timing-sources.ts';

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
    `- Node phases: ${d(e.nodePhaseSeconds)} in ${e.nodeWaves} wave(s); lower bound ${d(e.nodePhaseLowerBoundSeconds)}`,
  );
  for (const line of describeTimings(plan)) out.push(`- Timings: ${line}`);
  out.push(
    `- Drain: timeout ${plan.policy.drain.timeout}, on timeout: ${plan.policy.drain.onTimeout}${wavesTaintingPendingNodes(plan).some((s) => s.nodes.length > 0) ? `; the worker nodes still to drain are tainted \`${PENDING_UPGRADE_TAINT_KEY}=RUN:PreferNoSchedule\` until upgraded, so evicted pods prefer upgraded nodes (drain.preferUpgradedNodes)` : ''}`,
    '',
  );
  if (plan.warnings.length > 0) {
    out.push('## Warnings', '', ...plan.warnings.map((w) => `- ${w}`), '');
  }
  if (e.lowerBound.pools.length > 0) {
    out.push('## What limits the node phases', '');
    for (const p of e.lowerBound.pools) out.push(`- ${describeBound(p)}`);
    for (const g of e.flowGroups ?? []) out.push(`- ${describeFlowGroup(g)}`);
    out.push('');
  }
  let n = 0;
  for (const phase of plan.phases) {
    const together = phase.flowGroup
      ? ` Flows side by side with ${plan.phases
          .filter((p) => p !== phase && p.flowGroup === phase.flowGroup)
          .map((p) => p.pool)
          .join(
            ', ',
          )} (${phase.flowGroup}), under the run-wide cap of ${plan.policy.poolConcurrency?.maxInFlight} node(s) in flight.`
      : '';
    out.push(`## ${phase.name}`, '', `Estimated ${d(phase.estimateSeconds)}.${together}`, '');
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
  if (s.kind === 'etcd-member') lines.push(`- etcd member: ${s.member} (${s.endpoint})`);
  if (isNodeWave(s) && s.respectsBudgets === false)
    lines.push('- **Exceeds a disruption budget**: the drain will wait or time out.');
  if (isNodeWave(s) && s.fitsCapacity === false)
    lines.push('- **Not enough capacity**: some pods will stay Pending.');
  if (s.reasons.length > 0) lines.push('- Why:', ...s.reasons.map((r) => `  - ${describeReason(r)}`));
  if (s.checks.length > 0) lines.push('- Checks before continuing:', ...s.checks.map((c) => `  - [ ] ${c}`));
  lines.push(`- Rollback: ${s.rollback}`, '');
  return lines;
}
