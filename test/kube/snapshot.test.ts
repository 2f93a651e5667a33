import { writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/core/snapshot.ts';
import { parseVersion } from '../../src/core/versions.ts';
import { ClusterUnreachableError, ServerUnavailableError, UnauthorizedError } from '../../src/kube/errors.ts';
import { readSnapshot } from '../../src/kube/snapshot.ts';
import { runPreflight } from '../../src/preflight/index.ts';
import { closedPortKubeconfig } from '../cli/run-cli.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { patchFaults } from './sandbox-faults.ts';
import { helmSecret, LEGACY_MANIFEST, OLD_APPLIED_PDB } from './snapshot-fixtures.ts';

describe('readSnapshot against the sandbox over HTTPS', () => {
  let sandbox: RunningSandbox;
  let snapshot: ClusterSnapshot;

  beforeAll(async () => {
    sandbox = await startSandbox();
    const created = await Promise.all([
      sandbox.request('POST', '/api/v1/namespaces/shop/secrets', {
        body: helmSecret('legacy', 'shop', 2, LEGACY_MANIFEST),
      }),
      sandbox.request('POST', '/apis/policy/v1/namespaces/shop/poddisruptionbudgets', {
        body: OLD_APPLIED_PDB,
      }),
    ]);
    for (const res of created) expect(res.status, res.body).toBe(201);
    // kubectl records what it applied in the last-applied annotation; the snapshot must carry it through.
    const manifest = `${sandbox.kubeconfigPath}.cm.yaml`;
    writeFileSync(
      manifest,
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: applied, namespace: shop}\n' +
        'spec:\n  replicas: 1\n  selector: {matchLabels: {app: applied}}\n' +
        '  template:\n    metadata: {labels: {app: applied}}\n' +
        '    spec: {containers: [{name: c, image: "registry.k8s.io/pause:3.9"}]}\n',
    );
    const applied = await sandbox.kubectl('apply', '-f', manifest);
    expect(applied.code, applied.stderr).toBe(0);
    snapshot = await readSnapshot(sandbox.kubeConfig(), { now: () => Date.parse('2026-01-01T00:00:00Z') });
  }, 120_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('reads the server version, the serving certificate and the cluster id', () => {
    expect(snapshot.server.gitVersion).toBe('v1.30.6');
    expect(snapshot.server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(Date.parse(snapshot.server.tls?.notAfter ?? '')).toBeGreaterThan(Date.now());
    const kubeSystem = snapshot.namespaces.find((n) => n.metadata.name === 'kube-system');
    expect(snapshot.clusterId).toBe(kubeSystem?.metadata.uid);
    expect(snapshot.takenAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('reads every resource of the cluster, with kinds set and control-plane mirror pods included', () => {
    expect(snapshot.nodes).toHaveLength(10);
    expect(snapshot.pods.length).toBeGreaterThan(50);
    expect(snapshot.pods.some((p) => p.metadata.name === 'kube-apiserver-cp-1')).toBe(true);
    const kinds = new Set(snapshot.workloads.map((w) => w.kind));
    expect([...kinds].sort()).toEqual(['DaemonSet', 'Deployment', 'Job', 'ReplicaSet', 'StatefulSet']);
    expect(snapshot.pdbs.map((p) => p.metadata.name)).toContain('old-applied');
    expect(snapshot.webhooks.map((w) => w.kind)).toContain('ValidatingWebhookConfiguration');
    expect(snapshot.csiDrivers.map((d) => d.metadata.name)).toEqual(['hostpath.csi.k8s.io']);
    expect(snapshot.services?.some((s) => s.metadata.name === 'kubernetes')).toBe(true);
  });

  it('keeps the wire format: JSON-serialisable, RFC 3339 timestamps, original field names', () => {
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    const pod = snapshot.pods[0]!;
    expect(pod.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(snapshot.nodes[0]!.status?.conditions?.[0]?.lastTransitionTime).toMatch(/Z$/);
    const applied = snapshot.workloads.find((w) => w.metadata.name === 'applied' && w.kind === 'Deployment');
    const lastApplied = JSON.parse(
      applied?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}',
    );
    expect(lastApplied).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
  });

  it('leaves out the fields the API server sends as null, as the snapshot types say', async () => {
    // The API server (and the sandbox, like it) writes an unset lastProbeTime as null.
    const served = await sandbox.request('GET', '/api/v1/pods');
    expect(served.body).toContain('"lastProbeTime":null');
    const nulls: string[] = [];
    const visit = (value: unknown, path: string): void => {
      if (value === null) nulls.push(path);
      else if (typeof value === 'object')
        for (const [key, field] of Object.entries(value as object)) visit(field, `${path}.${key}`);
    };
    visit(snapshot, 'snapshot');
    expect(nulls).toEqual([]);
    expect(snapshot.pods[0]!.status?.conditions?.[0]).not.toHaveProperty('lastProbeTime');
  });

  it('decodes Helm release secrets (base64, base64, gzip, JSON)', () => {
    const releases = snapshot.helmReleases.map((r) => `${r.namespace}/${r.name}@${r.revision}:${r.chart}`);
    expect(releases.sort()).toEqual(['platform/ingress-nginx@1:ingress-nginx', 'shop/legacy@2:legacy-chart']);
    const legacy = snapshot.helmReleases.find((r) => r.name === 'legacy');
    expect(legacy).toMatchObject({ status: 'deployed', chartVersion: '1.2.3', manifest: LEGACY_MANIFEST });
  });

  it('gives the same snapshot whatever the page size', async () => {
    let pages = 0;
    const paged = await readSnapshot(sandbox.kubeConfig(), {
      pageSize: 7,
      onProgress: (p) => {
        if (p.resource === 'pods') pages++;
      },
    });
    expect(pages).toBeGreaterThan(5);
    const names = (s: ClusterSnapshot) =>
      s.pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();
    expect(paged.pods.length).toBeGreaterThan(50);
    expect(names(paged).length).toBe(new Set(names(paged)).size);
    expect(paged.nodes.map((n) => n.metadata.name).sort()).toEqual(
      snapshot.nodes.map((n) => n.metadata.name).sort(),
    );
  });

  it('feeds preflight: removed APIs from Helm manifests block, last-applied ones warn', () => {
    const report = runPreflight(snapshot, parseVersion('v1.32.2'), {}, Date.parse('2026-01-01T00:00:00Z'));
    const removed = report.findings.filter((f) => f.id === 'removed-api');
    expect(removed).toContainEqual(
      expect.objectContaining({
        severity: 'blocker',
        subject: { kind: 'PriorityLevelConfiguration', namespace: 'shop', name: 'legacy-priority' },
      }),
    );
    expect(removed).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        subject: { kind: 'PodDisruptionBudget', namespace: 'shop', name: 'old-applied' },
        message: expect.stringContaining('policy/v1beta1'),
      }),
    );
    expect(report.exitCode).toBe(1);
  });

  it('names an unreachable cluster in one line', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(closedPortKubeconfig(sandbox.box.kubeconfig()));
    const failure = await readSnapshot(kc).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ClusterUnreachableError);
    expect((failure as Error).message).toBe(
      'cannot reach the cluster at https://127.0.0.1:1 (connection refused): is it running, and is --context right?',
    );
  });

  it('names rejected credentials', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(sandbox.box.kubeconfig().replace(/token: .*/, 'token: not-the-token'));
    const failure = await readSnapshot(kc).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UnauthorizedError);
    expect((failure as Error).message).toContain('401 Unauthorized');
  });

  it('retries a failing API, then says what failed', async () => {
    await patchFaults(sandbox, { api: { errorRate: 1, code: 500 } });
    try {
      const failure = await readSnapshot(sandbox.kubeConfig(), { retryDelayMs: 1 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ServerUnavailableError);
      expect(failure).toMatchObject({ status: 500, attempts: 4, retryable: true });
      expect((failure as Error).message).toMatch(
        /is failing while (reading|listing) .* \(HTTP 500: .*\) after 4 attempts/,
      );
    } finally {
      await patchFaults(sandbox, { api: { errorRate: 0 } });
    }
  });
});
