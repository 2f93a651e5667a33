import { preflightBackupInput } from '../backup/index.ts';
/**
 * What `plan` and `apply --to` write: the plan for the snapshot, with the blockers preflight finds on the
 * same snapshot recorded at its top, so a reviewer sees them before `apply` stops on them.
 */
import type { ClusterSnapshot, KubeVersion } from '../core/index.ts';
import {
  type Plan,
  PlanError,
  type PlanOptions,
  type Policy,
  planUpgrade,
  withPreflightBlockers,
} from '../plan/index.ts';
import { runPreflight, subjectText } from '../preflight/index.ts';
import { defaultStatePath, etcdBackupsDir } from '../store/index.ts';
import { CliError } from './errors.ts';

export function planWithPreflight(
  snapshot: ClusterSnapshot,
  target: KubeVersion,
  policy: Policy,
  now: number,
  options: PlanOptions = {},
): Plan {
  let plan: Plan;
  try {
    plan = planUpgrade(snapshot, target, policy, options);
  } catch (err) {
    if (err instanceof PlanError) throw new CliError(`cannot plan this upgrade: ${err.message}`);
    throw err;
  }
  // Note: the same checks with the same policy as the preflight phase `apply` starts with.
  const backups = preflightBackupInput(policy.etcdBackup, etcdBackupsDir(defaultStatePath()));
  const blockers = runPreflight(snapshot, target, { ...policy, ...backups }, now)
    .findings.filter((f) => f.severity === 'blocker')
    .map((f) => ({ check: f.id, subject: subjectText(f.subject), message: f.message, fix: f.fix }));
  return withPreflightBlockers(plan, blockers);
}
