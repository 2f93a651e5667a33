/**
 * Nodes a run set aside instead of upgrading (drain.onTimeout skip or quarantine). A run that leaves any
 * behind ends `incomplete`, naming each and why; `resume` reopens them and gives each another try.
 */
import type { Plan } from '../plan/index.ts';
import {
  isNodeRow,
  type NodeGroupRowDetail,
  type NodeRowDetail,
  type PhaseRowDetail,
  type RunStore,
} from '../store/index.ts';
import { ANNOTATIONS, type RunContext } from './run-context.ts';
import { phaseRowId, ROLLBACK_STEP } from './run-summary.ts';

export interface LeftBehindNode {
  node: string;
  stepId: string;
  status: 'skipped' | 'quarantined';
  reason: string;
}

export function leftBehind(store: RunStore, runId: string): LeftBehindNode[] {
  const left: LeftBehindNode[] = [];
  for (const row of store.stepStates(runId).filter(isNodeRow)) {
    if (row.stepId === ROLLBACK_STEP) continue;
    if (row.status !== 'skipped' && row.status !== 'quarantined') continue;
    left.push({ node: row.node, stepId: row.stepId, status: row.status, reason: row.detail.reason ?? '' });
  }
  return left;
}

/** E.g. `2 node(s) left behind: general-1 skipped (drain … budget legacy/stubborn-pdb); …; resume retries`. */
export function leftBehindReason(runId: string, left: readonly LeftBehindNode[]): string {
  const each = left.map((n) => {
    // The recorded reasons start with the node's name: do not say it twice.
    const why = n.reason.startsWith(`${n.node}: `) ? n.reason.slice(n.node.length + 2) : n.reason;
    return `${n.node} ${n.status}${why ? ` (${why})` : ''}`;
  });
  return `${left.length} node(s) left behind: ${each.join('; ')}; \`midflight resume ${runId}\` retries them`;
}

/**
 * Marks the left-behind nodes pending again, with the steps and phases that hold them and the validation,
 * so that executing the plan once more visits exactly them (everything done stays done). One transaction.
 */
export function reopenLeftBehind(store: RunStore, runId: string, plan: Plan): void {
  const left = leftBehind(store, runId);
  if (left.length === 0) return;
  store.transaction(() => {
    const steps = new Set<string>();
    for (const n of left) {
      store.putStepState<NodeRowDetail>(runId, n.stepId, n.node, {
        status: 'pending',
        finishedAt: undefined,
        detail: { final: undefined, reopened: n.status },
      });
      steps.add(n.stepId);
    }
    plan.phases.forEach((phase, index) => {
      const reopened = phase.steps.filter((s) => steps.has(s.id) || s.kind === 'validation');
      if (reopened.length === 0) return;
      for (const step of reopened)
        store.putStepState<NodeGroupRowDetail>(runId, step.id, '', {
          status: 'pending',
          finishedAt: undefined,
          detail: { nodesDone: undefined },
        });
      store.putStepState<PhaseRowDetail>(runId, phaseRowId(index), '', {
        status: 'pending',
        finishedAt: undefined,
      });
    });
  });
}

/**
 * A quarantined node that gets another try loses its quarantine label and annotation first; a drain that is
 * stuck again quarantines it again. Idempotent: only nodes reopened and not started yet.
 */
export async function releaseReopenedQuarantine(ctx: RunContext): Promise<void> {
  for (const row of ctx.store.stepStates(ctx.runId).filter(isNodeRow)) {
    if (row.status !== 'pending' || row.detail.reopened !== 'quarantined') continue;
    await ctx.cluster.patchNodeMetadata(row.node, {
      labels: { [ANNOTATIONS.quarantined]: null },
      annotations: { [ANNOTATIONS.quarantined]: null },
    });
  }
}
