/**
 * The steps about the cluster as a whole: preflight again before anything changes and the validation that
 * ends the upgrade (the etcd backup has its own file, etcd-backup-step.ts).
 */
import { preflightBackupInput } from '../backup/index.ts';
import { type ClusterSnapshot, compareVersions, parseVersion } from '../core/index.ts';
import { listNodeTaints, readSnapshot } from '../kube/index.ts';
import type { PlanStep } from '../plan/index.ts';
import { runPreflight, subjectText } from '../preflight/index.ts';
import { etcdBackupsDir } from '../store/index.ts';
import { StepFailedError } from './errors.ts';
import { PENDING_UPGRADE_TAINT } from './pending-upgrade-taint.ts';
import { checkPlanCluster } from './plan-check.ts';
import { ANNOTATIONS, type EngineDeps, type RunContext } from './run-context.ts';

/** Note: more attempts than the reader's default: a run must ride out a flaky API server. */
export function snapshotOf(deps: Pick<EngineDeps, 'kc' | 'clock'>) {
  return readSnapshot(deps.kc, { clock: deps.clock, attempts: 8 });
}

/** `snapshot`: the cluster as the run read it moments ago (RunContext.takeStartSnapshot); else it is read. */
export async function preflightStep(
  ctx: RunContext,
  step: PlanStep,
  snapshot?: ClusterSnapshot,
): Promise<void> {
  snapshot ??= await snapshotOf(ctx.deps);
  checkPlanCluster(ctx.plan, snapshot);
  const policy = ctx.plan.policy;
  const backups = preflightBackupInput(policy.etcdBackup, etcdBackupsDir(ctx.store.path));
  const report = runPreflight(
    snapshot,
    parseVersion(ctx.plan.target),
    { ...policy, ...backups },
    ctx.clock.now(),
  );
  for (const f of report.findings.filter((x) => x.severity === 'warning').slice(0, 20))
    ctx.log('warn', `preflight: ${subjectText(f.subject)}: ${f.message}`, { stepId: step.id });
  const blockers = report.findings.filter((f) => f.severity === 'blocker');
  if (blockers.length > 0)
    throw new StepFailedError(
      step.id,
      undefined,
      `preflight found ${blockers.length} blocker(s): ${blockers
        .slice(0, 5)
        .map((b) => `${b.id}: ${subjectText(b.subject)}: ${b.message}`)
        .join('; ')}`,
      false,
    );
}

export async function validationStep(ctx: RunContext, step: PlanStep): Promise<void> {
  const problems: string[] = [];
  const rows = ctx.store.stepStates(ctx.runId).filter((r) => r.node !== '');
  const setAside = new Set(
    rows.filter((r) => r.status === 'skipped' || r.status === 'quarantined').map((r) => r.node),
  );
  const weCordoned = new Set(rows.filter((r) => r.wasAlreadyCordoned === false).map((r) => r.node));
  for (const node of await ctx.cluster.listNodes()) {
    if (setAside.has(node.name)) continue;
    if (node.kubeletVersion !== ctx.plan.target)
      problems.push(`node ${node.name} runs ${node.kubeletVersion}`);
    else if (!node.ready) problems.push(`node ${node.name} is not Ready`);
    if (node.unschedulable && weCordoned.has(node.name) && node.annotations[ANNOTATIONS.runId] === ctx.runId)
      problems.push(`node ${node.name} is still cordoned by this run`);
  }
  // Every node upgraded has lost the taint that steered pods away from it; one that kept it would repel pods
  // until the run's end.
  for (const node of await listNodeTaints(ctx.kc, ctx.clock)) {
    const ours = node.taints.some(
      (t) =>
        t.key === PENDING_UPGRADE_TAINT.key &&
        t.effect === PENDING_UPGRADE_TAINT.effect &&
        t.value === ctx.runId,
    );
    if (ours && !setAside.has(node.name))
      problems.push(`node ${node.name} still carries this run's pending-upgrade taint`);
  }
  const version = await ctx.cluster.serverVersion();
  if (compareVersions(parseVersion(version), parseVersion(ctx.plan.target)) !== 0)
    problems.push(`/version reports ${version}, not ${ctx.plan.target}`);
  for (const node of setAside)
    ctx.log('warn', `node ${node} was set aside (skipped or quarantined) and is not at ${ctx.plan.target}`, {
      stepId: step.id,
      node,
    });
  if (problems.length > 0)
    throw new StepFailedError(
      step.id,
      undefined,
      `validation failed: ${problems.slice(0, 10).join('; ')}`,
      true,
    );
}
