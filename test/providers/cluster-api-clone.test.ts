/**
 * The cluster-api node provider's naming and cloning rules: the pool's MachineDeployment at a version is
 * named after it without its version suffix, and its clone selects only its own MachineSets.
 */
import { describe, expect, it } from 'vitest';
import { cloneAtVersion, deploymentNameAt, requestKey } from '../../src/providers/cluster-api-clone.ts';

describe('deploymentNameAt', () => {
  it.each([
    ['workers', 'v1.31.2', 'workers-v1-31-2'],
    ['workers-v1-30-6', 'v1.31.2', 'workers-v1-31-2'],
    ['prod-md-0', 'v1.32.0', 'prod-md-0-v1-32-0'],
    ['a'.repeat(63), 'v1.31.14', `${'a'.repeat(54)}-v1-31-14`],
  ])('%s at %s is %s', (source, version, name) => {
    expect(deploymentNameAt(source, version)).toBe(name);
    expect(name.length).toBeLessThanOrEqual(63);
  });
});

describe('cloneAtVersion', () => {
  const source = {
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'MachineDeployment',
    metadata: {
      name: 'workers',
      namespace: 'capi',
      resourceVersion: '42',
      labels: { 'cluster.x-k8s.io/cluster-name': 'prod', team: 'infra' },
      annotations: { 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size': '3' },
    },
    spec: {
      clusterName: 'prod',
      replicas: 3,
      selector: { matchLabels: { 'cluster.x-k8s.io/deployment-name': 'workers', pool: 'general' } },
      template: {
        metadata: {
          labels: {
            'cluster.x-k8s.io/deployment-name': 'workers',
            pool: 'general',
            'machine-template-hash': '123',
          },
        },
        spec: {
          clusterName: 'prod',
          version: 'v1.30.6',
          bootstrap: { configRef: { kind: 'KubeadmConfigTemplate', name: 'workers' } },
          infrastructureRef: { kind: 'AWSMachineTemplate', name: 'workers-v1-30' },
        },
      },
      strategy: { type: 'RollingUpdate' },
    },
  };

  it('copies the spec at the version with no replicas, selecting only its own MachineSets', () => {
    const clone = cloneAtVersion(source, 'workers-v1-31-2', 'v1.31.2', 'workers-v1-31');
    expect(clone.metadata).toEqual({
      name: 'workers-v1-31-2',
      namespace: 'capi',
      labels: { 'cluster.x-k8s.io/cluster-name': 'prod' },
      annotations: { 'upgrade.midflight.dev/cloned-from': 'workers' },
    });
    expect(clone.spec).toEqual({
      ...source.spec,
      replicas: 0,
      selector: { matchLabels: { 'cluster.x-k8s.io/deployment-name': 'workers-v1-31-2', pool: 'general' } },
      template: {
        metadata: { labels: { 'cluster.x-k8s.io/deployment-name': 'workers-v1-31-2', pool: 'general' } },
        spec: {
          ...source.spec.template.spec,
          version: 'v1.31.2',
          infrastructureRef: { kind: 'AWSMachineTemplate', name: 'workers-v1-31' },
        },
      },
    });
    expect(source.spec.replicas).toBe(3);
  });

  it('keys a create by its labels, whatever their order', () => {
    expect(requestKey({ b: '2', a: '1' })).toBe(requestKey({ a: '1', b: '2' }));
  });
});
