/**
 * What a preflight check reports, and the options every check takes.
 */
import type { ClusterSnapshot, IntOrString, KubeVersion } from '../core/index.ts';

export const CHECK_IDS = [
  'version-path',
  'version-skew',
  'removed-api',
  'pdb-blocks-drain',
  'no-disruption-budget',
  'unmanaged-pod',
  'local-storage',
  'capacity',
  'node-health',
  'webhook-fail-closed',
  'runtime-compat',
  'certificates',
  'etcd-backup',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export type Severity = 'blocker' | 'warning' | 'info';

export interface FindingSubject {
  kind: string;
  namespace?: string;
  name: string;
}

export interface Finding {
  /** The check that produced it; stable, documented in README (one id per check). */
  id: CheckId;
  severity: Severity;
  subject: FindingSubject;
  message: string;
  /** What to do about it; '' for purely informational findings. */
  fix: string;
}

/** A manifest file the CLI read and parsed (one entry per YAML document). */
export interface ManifestDocument {
  path: string;
  /** The parsed document (object) as the `yaml` package returns it. */
  document: unknown;
}

/**
 * The part of the upgrade policy preflight reads. Structurally a subset of plan's `Policy`, so a Policy can
 * be passed as is (plus `manifests`).
 */
export interface PreflightOptions {
  poolLabel?: string;
  pools?: ReadonlyArray<{
    name: string;
    selector?: string;
    maxUnavailable?: IntOrString;
    maxSurge?: IntOrString;
    strategy?: string;
  }>;
  defaults?: { maxUnavailable?: IntOrString; maxSurge?: IntOrString; strategy?: string };
  drain?: { deleteEmptyDirData?: boolean; force?: boolean };
  etcdBackup?: {
    enabled?: boolean;
    endpoints?: readonly string[];
    required?: boolean;
    maxAge?: string;
    dir?: string;
  };
  /**
   * The newest snapshot in etcdBackup.dir, read by the caller (preflight does no I/O); only looked at when
   * etcdBackup.maxAge is set. Undefined there: no snapshot.
   */
  newestBackup?: { file: string; takenAt: string; verifiedAt?: string };
  /** Only `backup` is read here (the policy's hooks section is free-form). */
  hooks?: { backup?: unknown };
  preflight?: {
    /** Check ids not to run. */
    skip?: readonly string[];
    /** Warn when the API server certificate expires within this many days (default 30). */
    certificateWarningDays?: number;
    /** A container with at least this many restarts counts as crash-looping (default 5). */
    crashLoopRestarts?: number;
  };
  manifests?: readonly ManifestDocument[];
}

const SEVERITY_RANK: Record<Severity, number> = { blocker: 0, warning: 1, info: 2 };

/** Blockers first, then by check order, then by subject. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    CHECK_IDS.indexOf(a.id) - CHECK_IDS.indexOf(b.id) ||
    subjectText(a.subject).localeCompare(subjectText(b.subject))
  );
}

export function subjectText(s: FindingSubject): string {
  return s.namespace ? `${s.kind} ${s.namespace}/${s.name}` : `${s.kind} ${s.name}`;
}

/** "a, b, c and 4 more" — keeps findings readable on 5,000-node clusters. */
export function listSome(names: readonly string[], max = 5): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** Every check has this shape; `now` is epoch milliseconds (checks never read the clock). */
export type PreflightCheck = (
  snapshot: ClusterSnapshot,
  target: KubeVersion,
  options: PreflightOptions,
  now: number,
) => Finding[];
