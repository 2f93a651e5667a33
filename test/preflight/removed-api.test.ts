import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/versions.ts';
import { checkRemovedApi } from '../../src/preflight/removed-api.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

const NOW = Date.parse('2026-01-15T10:00:00Z');

const HELM_MANIFEST = `---
apiVersion: v1
kind: Service
metadata:
  name: web
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  maxUnavailable: 1
---
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata:
  name: web
`;

describe('removed-api', () => {
  const snapshot = new ClusterBuilder('v1.24.17')
    .helm({
      name: 'web',
      namespace: 'shop',
      chart: 'web',
      chartVersion: '1.2.0',
      manifest: HELM_MANIFEST,
      revision: 3,
    })
    .helm({
      name: 'web',
      namespace: 'shop',
      chart: 'web',
      manifest: 'apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\n',
      revision: 2,
      status: 'superseded',
    })
    .raw({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'legacy',
        namespace: 'shop',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
            apiVersion: 'extensions/v1beta1',
            kind: 'Deployment',
          }),
        },
        managedFields: [{ manager: 'old-ci', apiVersion: 'apps/v1beta2', operation: 'Update' }],
      },
    })
    .build();

  it('finds removed APIs in Helm releases (newest revision only) with release and replacement', () => {
    const findings = checkRemovedApi(snapshot, parseVersion('v1.25.16'), {}, NOW).filter((f) =>
      /Helm/.test(f.message),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      severity: 'blocker',
      subject: { kind: 'PodDisruptionBudget', namespace: 'shop', name: 'web' },
    });
    expect(findings[0]!.message).toMatch(
      /Helm release shop\/web \(revision 3\) uses policy\/v1beta1 PodDisruptionBudget, which is removed in 1.25/,
    );
    expect(findings[0]!.fix).toMatch(/use policy\/v1 \(served since 1.21\)/);
  });

  it('follows every hop to the target', () => {
    const ids = checkRemovedApi(snapshot, parseVersion('v1.26.15'), {}, NOW).map((f) => f.message);
    expect(
      ids.some((m) => /autoscaling\/v2beta2 HorizontalPodAutoscaler, which is removed in 1.26/.test(m)),
    ).toBe(true);
  });

  it('treats last-applied and managedFields as hints, and already-removed APIs as warnings', () => {
    const findings = checkRemovedApi(snapshot, parseVersion('v1.25.16'), {}, NOW).filter(
      (f) => f.subject.name === 'legacy',
    );
    expect(findings.map((f) => f.severity)).toEqual(['warning', 'warning']);
    expect(findings[0]!.message).toMatch(/already removed in 1.16.*a hint/);
    expect(findings[1]!.message).toMatch(/managedFields \(manager old-ci\)/);
  });

  it('reads manifest files the CLI parsed', () => {
    const findings = checkRemovedApi(
      snapshot,
      parseVersion('v1.25.16'),
      {
        manifests: [
          {
            path: 'deploy/cron.yaml',
            document: {
              apiVersion: 'batch/v1beta1',
              kind: 'CronJob',
              metadata: { name: 'nightly', namespace: 'ops' },
            },
          },
          {
            path: 'deploy/ok.yaml',
            document: { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'fine' } },
          },
        ],
      },
      NOW,
    ).filter((f) => /manifest/.test(f.message));
    expect(findings.map((f) => [f.subject.name, f.severity])).toEqual([['nightly', 'blocker']]);
    expect(findings[0]!.message).toMatch(/manifest deploy\/cron.yaml uses batch\/v1beta1 CronJob/);
  });

  it('reports nothing for upgrades past the last removal', () => {
    const clean = new ClusterBuilder('v1.33.1')
      .helm({
        name: 'web',
        namespace: 'shop',
        chart: 'web',
        manifest: 'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\n',
      })
      .build();
    expect(checkRemovedApi(clean, parseVersion('v1.35.0'), {}, NOW)).toEqual([]);
  });
});
