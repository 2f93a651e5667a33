import { parseAllDocuments } from 'yaml';
import {
  type ClusterSnapshot,
  clusterModelOf,
  findRemovedApi,
  type HelmRelease,
  type KubeResource,
  type KubeVersion,
  type RemovedApi,
  sourceVersionOf,
} from '../core/index.ts';
import type { Finding, FindingSubject, PreflightCheck, Severity } from './finding.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Source = 'helm' | 'manifest' | 'last-applied' | 'managed-fields';

/**
 * `removed-api`: objects written with an API version the target (or any hop before it) no longer serves.
 * Sources, from most to least trustworthy: Helm release manifests and manifest files (what will be applied
 * again), then the last-applied annotation and managedFields of live objects (hints: they can be stale).
 */
export const checkRemovedApi: PreflightCheck = (snapshot, target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const source = sourceVersionOf(model) ?? target;
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const report = (
    origin: Source,
    where: string,
    apiVersion: string,
    kind: string,
    subject: FindingSubject,
  ): void => {
    const api = findRemovedApi(apiVersion, kind);
    if (!api || api.removedInMinor > target.minor) return;
    const dedupe = `${origin}|${where}|${apiVersion}|${kind}|${subject.namespace}|${subject.name}`;
    if (seen.has(dedupe)) return;
    seen.add(dedupe);
    findings.push(removedApiFinding(api, apiVersion, origin, where, subject, source, target));
  };

  for (const release of latestReleases(snapshot.helmReleases)) {
    for (const doc of parseManifest(release.manifest)) {
      report(
        'helm',
        `Helm release ${release.namespace}/${release.name} (revision ${release.revision})`,
        doc.apiVersion,
        doc.kind,
        {
          kind: doc.kind,
          namespace: doc.namespace ?? release.namespace,
          name: doc.name,
        },
      );
    }
  }
  for (const m of options.manifests ?? []) {
    const doc = asObject(m.document);
    if (!doc) continue;
    report('manifest', `manifest ${m.path}`, doc.apiVersion, doc.kind, {
      kind: doc.kind,
      namespace: doc.namespace,
      name: doc.name,
    });
  }
  for (const obj of liveObjects(snapshot)) {
    const kind = obj.kind;
    if (!kind) continue;
    const subject = { kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
    const lastApplied = obj.metadata.annotations?.[LAST_APPLIED];
    if (lastApplied) {
      const applied = asObject(safeJson(lastApplied));
      if (applied)
        report(
          'last-applied',
          'last-applied-configuration annotation',
          applied.apiVersion,
          applied.kind,
          subject,
        );
    }
    for (const entry of obj.metadata.managedFields ?? []) {
      if (entry.apiVersion) {
        report(
          'managed-fields',
          `managedFields (manager ${entry.manager ?? 'unknown'})`,
          entry.apiVersion,
          kind,
          subject,
        );
      }
    }
  }
  return findings;
};

function removedApiFinding(
  api: RemovedApi,
  apiVersion: string,
  origin: Source,
  where: string,
  subject: FindingSubject,
  source: KubeVersion,
  target: KubeVersion,
): Finding {
  const alreadyGone = api.removedInMinor <= source.minor;
  const trusted = origin === 'helm' || origin === 'manifest';
  const severity: Severity = alreadyGone ? 'warning' : trusted ? 'blocker' : 'warning';
  const replacement = api.replacement
    ? `use ${api.replacement} (served since 1.${api.replacementSinceMinor})`
    : 'there is no replacement API';
  const when = alreadyGone
    ? `was already removed in 1.${api.removedInMinor}`
    : `is removed in 1.${api.removedInMinor}, on the way to 1.${target.minor}`;
  const hint =
    origin === 'last-applied' || origin === 'managed-fields'
      ? ' (a hint: the object was last written this way and the record may be stale)'
      : '';
  return {
    id: 'removed-api',
    severity,
    subject,
    message: `${where} uses ${apiVersion} ${api.kind}, which ${when}${hint}`,
    fix: `${replacement}${api.note ? `; ${api.note}` : ''}${origin === 'helm' ? '; upgrade the chart (or run helm mapkubeapis)' : ''}`,
  };
}

/** Only the newest revision of each release matters: older ones are history Helm will not apply again. */
function latestReleases(releases: readonly HelmRelease[]): HelmRelease[] {
  const latest = new Map<string, HelmRelease>();
  for (const r of releases) {
    if (r.status === 'superseded' || r.status === 'uninstalled') continue;
    const key = `${r.namespace}/${r.name}`;
    const prev = latest.get(key);
    if (!prev || r.revision > prev.revision) latest.set(key, r);
  }
  return [...latest.values()].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
}

interface DocHeader {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

function asObject(value: unknown): DocHeader | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
  };
  if (typeof v.apiVersion !== 'string' || typeof v.kind !== 'string') return undefined;
  return {
    apiVersion: v.apiVersion,
    kind: v.kind,
    name: typeof v.metadata?.name === 'string' ? v.metadata.name : '(unnamed)',
    namespace: typeof v.metadata?.namespace === 'string' ? v.metadata.namespace : undefined,
  };
}

function parseManifest(text: string): DocHeader[] {
  const headers: DocHeader[] = [];
  for (const doc of parseAllDocuments(text)) {
    if ('errors' in doc && doc.errors.length > 0) continue;
    const h = asObject(doc.toJS());
    if (h) headers.push(h);
  }
  return headers;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function* liveObjects(snapshot: ClusterSnapshot): Generator<KubeResource> {
  yield* snapshot.workloads;
  yield* snapshot.pdbs.map((p) => ({ ...p, kind: p.kind ?? 'PodDisruptionBudget' }));
  yield* snapshot.webhooks;
  yield* snapshot.crds.map((c) => ({ ...c, kind: c.kind ?? 'CustomResourceDefinition' }));
  yield* snapshot.csiDrivers.map((c) => ({ ...c, kind: c.kind ?? 'CSIDriver' }));
  yield* (snapshot.services ?? []).map((s) => ({ ...s, kind: s.kind ?? 'Service' }));
}
