/**
 * How a run reads as text: the end-of-run summary, `status` (the same, plus what is in flight and what
 * blocks it) and `history`. The data comes from the store, so any process can show any run.
 */
import { formatDuration, formatMeasurement } from '../core/index.ts';
import type { PodBlock, RunSummary } from '../engine/index.ts';
import { type GateEvaluationRecord, isNodeRow, type RunRecord, type RunStore } from '../store/index.ts';
import { renderTable } from './output.ts';

export interface InFlightNode {
  node: string;
  stepId: string;
  /** The last milestone reached (cordoned, drained, …), if any. */
  subStep?: string;
  /** The side effect under way when the run last wrote (drain, upgrade, …). */
  doing?: string;
  attempt: number;
  blocking: PodBlock[];
}

export interface RunStatus extends RunSummary {
  holder?: string;
  /** Why the holder of a `running` run is gone (a crash): nothing executes it any more. */
  holderGone?: string;
  inFlight: InFlightNode[];
  /** Each health gate's latest evaluation, with the baseline recorded before the first node. */
  gates: GateStatus[];
}

export interface GateStatus {
  gate: string;
  verdict: GateEvaluationRecord['verdict'];
  value?: number;
  baseline?: number;
  /** Clock ms of the evaluation. */
  time: number;
  query: string;
  error?: string;
}

/** Each gate's latest evaluation; its baseline is the one stored with the run when the evaluation has none. */
export function gateStatuses(store: RunStore, runId: string): GateStatus[] {
  const baselines = store.gateBaselines(runId);
  return store.gateEvaluations(runId, { latest: true }).map((e) => ({
    gate: e.gate,
    verdict: e.verdict,
    value: e.value,
    baseline: e.baseline ?? baselines[e.gate],
    time: e.time,
    query: e.query,
    error: e.error,
  }));
}

/** The nodes a run has started and not finished, with what blocks their drains. */
export function inFlightNodes(store: RunStore, runId: string): InFlightNode[] {
  return store
    .stepStates(runId)
    .filter(isNodeRow)
    .filter((r) => r.status === 'running')
    .map((r) => ({
      node: r.node,
      stepId: r.stepId,
      subStep: r.subStep,
      doing: r.intent,
      attempt: r.attempt,
      blocking: r.detail.blocking ?? [],
    }));
}

const duration = (ms: number | undefined) => (ms === undefined ? '-' : formatDuration(ms));

export function renderSummary(s: RunSummary): string {
  const lines = [
    `Run ${s.runId} ${s.state} after ${formatDuration(s.durationMs)}: ${s.source} → ${s.target} (plan ${s.planId})`,
  ];
  if (s.reason) lines.push(`Reason: ${s.reason}`);
  lines.push(
    '',
    renderTable(
      ['PHASE', 'STATUS', 'DURATION'],
      s.phases.map((p) => [p.name, p.status, duration(p.durationMs)]),
    ).trimEnd(),
    '',
  );
  if (s.nodePhase) {
    const { durationMs, estimateMs, lowerBoundMs } = s.nodePhase;
    // Note: the bound counts only a node's upgrade and its pods' start-up (plan/lower-bound.ts); a run under
    // it means those timings overstate this cluster.
    const versus =
      durationMs >= lowerBoundMs
        ? `×${(durationMs / Math.max(1, lowerBoundMs)).toFixed(2)} of the plan's lower bound ${formatDuration(lowerBoundMs)}`
        : `under the plan's lower bound ${formatDuration(lowerBoundMs)}: the policy's nodeUpgrade or podStartup is longer than this cluster's`;
    lines.push(
      `Node phases: ${formatDuration(durationMs)}, ${versus}; the plan estimated ${formatDuration(estimateMs)}`,
    );
  }
  const n = s.nodes;
  lines.push(
    `Nodes: ${n.upgraded.length} upgraded, ${n.replaced ? `${n.replaced.length} replaced (${n.replaced.map((r) => `${r.node} → ${r.by}`).join(', ')}), ` : ''}${n.alreadyAtTarget.length} already at the target, ` +
      `${n.skipped.length} skipped, ${n.quarantined.length} quarantined, ${n.failed.length} failed` +
      (n.rolledBack.length > 0 ? `, ${n.rolledBack.length} rolled back` : ''),
  );
  for (const [label, list] of [
    ['skipped', n.skipped],
    ['quarantined', n.quarantined],
    ['failed', n.failed],
  ] as const)
    for (const o of list) lines.push(`  ${label}: ${o.node}${o.reason ? ` — ${o.reason}` : ''}`);
  if (s.warnings.length > 0) {
    const unique = [...new Set(s.warnings)];
    lines.push('', `Warnings (${unique.length}):`);
    for (const w of unique.slice(0, 20)) lines.push(`  - ${w}`);
    if (unique.length > 20)
      lines.push(`  … and ${unique.length - 20} more (see \`midflight status -o json\`)`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderStatus(s: RunStatus): string {
  const lines = [renderSummary(s).trimEnd()];
  if (s.holderGone)
    lines.push('', `Not executing: its holder ${s.holder ?? '(none recorded)'} is gone (${s.holderGone}).`);
  else if (s.holder && (s.state === 'running' || s.state === 'pending'))
    lines.push('', `Executed by ${s.holder}`);
  if (s.inFlight.length > 0) {
    lines.push('', 'In flight:');
    for (const n of s.inFlight) {
      const at = n.doing ?? (n.subStep ? `after ${n.subStep}` : 'starting');
      lines.push(`  ${n.node} (${n.stepId}, attempt ${n.attempt}): ${at}`);
      for (const b of n.blocking)
        lines.push(`    blocked: ${b.pod}${b.budget ? ` by budget ${b.budget}` : ''}: ${b.reason}`);
    }
  }
  if (s.gates.length > 0) {
    lines.push(
      '',
      'Health gates (latest evaluation of each):',
      renderTable(
        ['GATE', 'VERDICT', 'VALUE', 'BASELINE', 'AT'],
        s.gates.map((g) => [
          g.gate,
          g.error ? `${g.verdict}: ${g.error}` : g.verdict,
          formatMeasurement(g.value),
          formatMeasurement(g.baseline),
          new Date(g.time).toISOString().replace(/\.\d+Z$/, 'Z'),
        ]),
      ).trimEnd(),
    );
  }
  const next = nextCommand(s);
  if (next) lines.push('', next);
  return `${lines.join('\n')}\n`;
}

/** What the user can do with a run in this state. */
function nextCommand(s: RunStatus): string | undefined {
  const work = s.mode === 'rollback' ? 'rollback' : 'run';
  const orRollback =
    s.mode === 'rollback' ? '' : `; \`midflight rollback ${s.runId}\` returns its upgraded workers`;
  switch (s.state) {
    case 'paused':
    case 'failed':
      return `Continue with \`midflight resume ${s.runId}\`, or \`midflight abort ${s.runId}\`${orRollback}.`;
    case 'incomplete':
      return `Fix what held the nodes left behind, then \`midflight resume ${s.runId}\` retries them${orRollback}.`;
    case 'running':
    case 'pending':
      if (s.holderGone)
        return `\`midflight resume ${s.runId}\` continues the ${work} (once the dead holder's lease expires); \`midflight abort ${s.runId}\` stops it for good.`;
      return `Pause with \`midflight pause ${s.runId}\`, stop with \`midflight abort ${s.runId}\`.`;
    default:
      return undefined;
  }
}

export function renderHistory(runs: RunRecord[]): string {
  if (runs.length === 0) return 'No runs in this state store yet.\n';
  return renderTable(
    ['RUN', 'STATE', 'FROM', 'TO', 'CLUSTER', 'STARTED', 'DURATION'],
    runs.map((r) => [
      r.id,
      // A stopped rollback says so: `resume` continues the rollback, not the upgrade.
      r.mode === 'rollback' && r.state !== 'rolled-back' ? `${r.state} (rollback)` : r.state,
      r.source,
      r.target,
      r.clusterServer,
      new Date(r.createdAt).toISOString().replace(/\.\d+Z$/, 'Z'),
      formatDuration((r.finishedAt ?? r.updatedAt) - r.createdAt),
    ]),
  );
}
