/**
 * Preflight: every check, run over one snapshot. Pure: the CLI reads the cluster, manifests and the clock.
 */
import type { ClusterSnapshot, KubeVersion } from '../core/index.ts';
import { checkCapacity } from './capacity.ts';
import { checkCertificates } from './certificates.ts';
import { checkEtcdBackup } from './etcd-backup.ts';
import {
  CHECK_IDS,
  type CheckId,
  compareFindings,
  type Finding,
  type PreflightCheck,
  type PreflightOptions,
} from './finding.ts';
import { checkLocalStorage } from './local-storage.ts';
import { checkNoDisruptionBudget } from './no-disruption-budget.ts';
import { checkNodeHealth } from './node-health.ts';
import { checkPdbBlocksDrain } from './pdb-blocks-drain.ts';
import { checkRemovedApi } from './removed-api.ts';
import { checkRuntimeCompat } from './runtime-compat.ts';
import { checkUnmanagedPod } from './unmanaged-pod.ts';
import { checkVersionPath } from './version-path.ts';
import { checkVersionSkew } from './version-skew.ts';
import { checkWebhookFailClosed } from './webhook-fail-closed.ts';

export type {
  CheckId,
  Finding,
  FindingSubject,
  ManifestDocument,
  PreflightOptions,
  Severity,
} from './finding.ts';
export { CHECK_IDS, compareFindings, subjectText } from './finding.ts';

export const CHECKS: Record<CheckId, PreflightCheck> = {
  'version-path': checkVersionPath,
  'version-skew': checkVersionSkew,
  'removed-api': checkRemovedApi,
  'pdb-blocks-drain': checkPdbBlocksDrain,
  'no-disruption-budget': checkNoDisruptionBudget,
  'unmanaged-pod': checkUnmanagedPod,
  'local-storage': checkLocalStorage,
  capacity: checkCapacity,
  'node-health': checkNodeHealth,
  'webhook-fail-closed': checkWebhookFailClosed,
  'runtime-compat': checkRuntimeCompat,
  certificates: checkCertificates,
  'etcd-backup': checkEtcdBackup,
};

export interface PreflightReport {
  findings: Finding[];
  counts: { blocker: number; warning: number; info: number };
  /** 0 when nothing blocks, 1 when something does (2, bad usage, is the CLI's). */
  exitCode: 0 | 1;
}

export function runPreflight(
  snapshot: ClusterSnapshot,
  target: KubeVersion,
  options: PreflightOptions,
  now: number,
): PreflightReport {
  const skip = new Set(options.preflight?.skip ?? []);
  const findings: Finding[] = [];
  for (const id of CHECK_IDS) {
    if (skip.has(id)) continue;
    try {
      findings.push(...CHECKS[id](snapshot, target, options, now));
    } catch (err) {
      // Fail closed: a check that cannot run does not pass.
      findings.push({
        id,
        severity: 'blocker',
        subject: { kind: 'Check', name: id },
        message: `the check failed: ${err instanceof Error ? err.message : String(err)}`,
        fix: 'report this as a midflight bug, or skip the check with preflight.skip',
      });
    }
  }
  findings.sort(compareFindings);
  const counts = { blocker: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return { findings, counts, exitCode: counts.blocker > 0 ? 1 : 0 };
}
