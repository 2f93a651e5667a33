import { describe, expect, it } from 'vitest';
import { buildInventory, recogniseAddons, splitImage } from '../../src/core/inventory.ts';
import type { Workload } from '../../src/core/snapshot.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

function daemonSet(namespace: string, name: string, image: string): Workload {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace },
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'main', image },
            { name: 'sidecar', image: 'busybox:1' },
          ],
        },
      },
    },
  };
}

describe('splitImage', () => {
  it.each([
    ['docker.io/calico/node:v3.27.0', 'calico/node', 'v3.27.0'],
    ['registry.k8s.io/coredns/coredns:v1.11.1@sha256:abc', 'coredns/coredns', 'v1.11.1'],
    ['localhost:5000/kube-proxy:v1.30.1', 'kube-proxy', 'v1.30.1'],
    ['cilium/cilium', 'cilium/cilium', undefined],
    ['quay.io/cilium/cilium:v1.15.3', 'cilium/cilium', 'v1.15.3'],
  ])('%s → %s %s', (image, repository, tag) => {
    expect(splitImage(image)).toEqual({ repository, tag });
  });
});

describe('recogniseAddons', () => {
  it.each([
    ['calico-node', 'docker.io/calico/node:v3.27.4', 'calico', 'cni', 'v3.27.4'],
    ['cilium', 'quay.io/cilium/cilium:v1.15.3', 'cilium', 'cni', 'v1.15.3'],
    ['kube-flannel-ds', 'docker.io/flannel/flannel:v0.25.1', 'flannel', 'cni', 'v0.25.1'],
    ['weave-net', 'weaveworks/weave-kube:2.8.1', 'weave-net', 'cni', '2.8.1'],
    ['kube-proxy', 'registry.k8s.io/kube-proxy:v1.30.6', 'kube-proxy', 'kube-proxy', 'v1.30.6'],
    ['ingress', 'registry.k8s.io/ingress-nginx/controller:v1.10.0', 'ingress-nginx', 'ingress', 'v1.10.0'],
    ['traefik', 'traefik:v3.0', 'traefik', 'ingress', 'v3.0'],
    [
      'metrics',
      'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
      'metrics-server',
      'metrics',
      'v0.7.2',
    ],
    ['coredns', 'mirror.internal/custom/dns-build:7', 'coredns', 'dns', undefined],
  ])('DaemonSet %s (%s) is %s (%s) at %s', (name, image, addon, category, version) => {
    const snapshot = new ClusterBuilder()
      .node('n1')
      .raw(daemonSet('kube-system', name, image))
      .build();
    expect(recogniseAddons(snapshot)).toEqual([
      expect.objectContaining({ name: addon, category, version, workload: `DaemonSet kube-system/${name}` }),
    ]);
  });

  it('ignores workloads it does not know', () => {
    const snapshot = new ClusterBuilder()
      .node('n1')
      .raw(daemonSet('monitoring', 'agent', 'example/agent:1'))
      .build();
    expect(recogniseAddons(snapshot)).toEqual([]);
  });

  it('lists CSI drivers with the version of their plugin, not of a sidecar', () => {
    const snapshot = new ClusterBuilder()
      .node('n1')
      .raw({
        ...daemonSet('kube-system', 'ebs-csi-node', 'unused'),
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'registrar', image: 'registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.10.0' },
                { name: 'plugin', image: 'public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.30.0' },
              ],
            },
          },
        },
      })
      .build();
    snapshot.csiDrivers.push({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: 'ebs.csi.aws.com' },
    });
    snapshot.csiDrivers.push({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: 'other.csi.example' },
    });
    expect(recogniseAddons(snapshot)).toEqual([
      expect.objectContaining({ name: 'ebs.csi.aws.com', category: 'csi', version: 'v1.30.0' }),
      expect.objectContaining({ name: 'other.csi.example', workload: 'CSIDriver', version: undefined }),
    ]);
  });
});

describe('buildInventory', () => {
  it('reports control-plane component versions, nodes, pools and counts', () => {
    const snapshot = new ClusterBuilder('v1.30.4')
      .controlPlane('cp-1')
      .node('w-1', { pool: 'workers', kubelet: 'v1.29.8' })
      .node('w-2', { pool: 'workers', cordoned: true, ready: false })
      .build();
    const inventory = buildInventory(snapshot);
    expect(inventory.controlPlane).toEqual([
      expect.objectContaining({ node: 'cp-1', apiserver: 'v1.30.4', scheduler: 'v1.30.4' }),
    ]);
    expect(inventory.nodes.find((n) => n.name === 'w-2')).toMatchObject({
      pool: 'workers',
      ready: false,
      schedulable: false,
    });
    expect(inventory.pools.find((p) => p.name === 'workers')).toEqual({
      name: 'workers',
      nodes: 2,
      ready: 1,
      kubeletVersions: ['v1.29.8', 'v1.30.4'],
    });
    expect(inventory.counts).toMatchObject({ nodes: 3, crds: 0, validatingWebhooks: 0, helmReleases: 0 });
  });
});
