/** The end-of-run summary (also what `status` shows mid-run), derived from the store alone. */
import type { Plan } from '../plan/index.ts';
import { isNodeRow, type RunStore, type StepStateRecord } from '../store/index.ts';
import type { NodeOutcome, PhaseSummary, RunSummary } from './run-events.ts';

export const phaseRowId = (index: number) => `phase-${index}`;
export const ROLLBACK_STEP = 'rollback';

export function summarizeRun(store: RunStore, runId: string, now?: number): RunSummary {
  const run = store.mustGetRun(runId);
  const plan = JSON.parse(run.planJson) as Plan;
  const rows = store.stepStates(runId);
  const byKey = new Map(rows.map((r) => [`${r.stepId}\u0000${r.node}`, r]));
  const phases: PhaseSummary[] = plan.phases.map((p, index) => {
    const row = byKey.get(`${phaseRowId(index)}\u0000`);
    const status: PhaseSummary['status'] =
      row?.status === 'done'
        ? 'done'
        : row?.status === 'failed'
          ? 'failed'
          : row?.status === 'running'
            ? 'running'
            : row?.status === 'skipped'
              ? 'skipped'
              : 'pending';
    const durationMs =
      row?.startedAt !== undefined ? (row.finishedAt ?? now ?? row.updatedAt) - row.startedAt : undefined;
    return { index, kind: p.kind, name: p.name, status, durationMs };
  });
  const nodePhases = phases.filter((p) => p.kind === 'canary' || p.kind === 'node-pool');
  const nodePhase =
    nodePhases.length > 0 && nodePhases.every((p) => p.status === 'done' && p.durationMs !== undefined)
      ? {
          durationMs: nodePhases.reduce((sum, p) => sum + p.durationMs!, 0),
          estimateMs: plan.estimate.nodePhaseSeconds * 1000,
          lowerBoundMs: plan.estimate.nodePhaseLowerBoundSeconds * 1000,
        }
      : undefined;
  // Note: rows of the plan's steps only: the rollback's, and a blue-green pool's green rows, are not nodes
  // the plan upgraded.
  const planSteps = new Set(plan.phases.flatMap((p) => p.steps.map((s) => s.id)));
  const nodeRows = rows.filter(isNodeRow).filter((r) => planSteps.has(r.stepId));
  const outcome = (r: StepStateRecord): NodeOutcome => ({
    node: r.node,
    stepId: r.stepId,
    reason: r.detail.reason ?? '',
  });
  const replaced = nodeRows
    .filter((r) => r.status === 'done' && r.detail.replacedBy !== undefined)
    .map((r) => ({ node: r.node, by: r.detail.replacedBy! }));
  const warnings = store
    .logs(runId)
    .filter((l) => l.level === 'warn')
    .map((l) => l.message);
  return {
    runId,
    planId: run.planId,
    source: run.source,
    target: run.target,
    state: run.state,
    mode: run.mode,
    ...(run.rollbackScope ? { rollbackScope: run.rollbackScope } : {}),
    reason: run.reason,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    durationMs: (run.finishedAt ?? now ?? run.updatedAt) - run.createdAt,
    phases,
    ...(nodePhase ? { nodePhase } : {}),
    nodes: {
      upgraded: nodeRows
        .filter((r) => r.status === 'done' && !r.detail.alreadyAtTarget && r.detail.replacedBy === undefined)
        .map((r) => r.node),
      ...(replaced.length > 0 ? { replaced } : {}),
      alreadyAtTarget: nodeRows
        .filter((r) => r.status === 'done' && r.detail.alreadyAtTarget)
        .map((r) => r.node),
      skipped: nodeRows.filter((r) => r.status === 'skipped').map(outcome),
      quarantined: nodeRows.filter((r) => r.status === 'quarantined').map(outcome),
      failed: nodeRows.filter((r) => r.status === 'failed').map(outcome),
      rolledBack: rows.filter((r) => r.stepId === ROLLBACK_STEP && r.status === 'done').map((r) => r.node),
    },
    warnings,
  };
}
