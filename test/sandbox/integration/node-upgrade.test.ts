import { BatchV1Api, CoreV1Api, type V1Node, VersionApi, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPGRADE_TARGET_ANNOTATION } from '../../../src/sandbox/scenario/annotations.ts';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';
import { eventually, scenarioFromYaml } from './integration-helpers.ts';

const UPGRADES = scenarioFromYaml(`
name: upgrades
kubernetesVersion: v1.30.6
prebindPods: true
controlPlane: { nodes: 3 }
nodePools:
  - { name: old, count: 4, version: v1.29.10, capacity: { cpu: "8", memory: 32Gi } }
timing:
  nodeUpgradeSeconds: 10
  controlPlaneUpgradeSeconds: 10
  podStartSeconds: 1
  podReadySeconds: 1
  nodeMonitorGraceSeconds: 600
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 2 }
`);

let sandbox: RunningSandbox;
let core: CoreV1Api;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: UPGRADES, timeScale: 20 });
  core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
});
afterAll(() => sandbox?.stop());

function readyOf(node: V1Node): string {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'missing';
}

function upgrade(node: string, version: string) {
  return sandbox.request('POST', `/sandbox/v1/nodes/${node}/upgrade?wait=true`, { body: { version } });
}

function patchFaults(body: unknown) {
  return sandbox.request('PATCH', '/sandbox/v1/faults', { body });
}

/** Watches one node and records each change of its (Ready, kubeletVersion) pair, without repeats. */
async function watchNodeStates(name: string) {
  const states: string[] = [];
  const controller = await new Watch(sandbox.kubeConfig()).watch(
    '/api/v1/nodes',
    { fieldSelector: `metadata.name=${name}` },
    (_type, node: V1Node) => {
      const state = `${readyOf(node)} ${node.status?.nodeInfo?.kubeletVersion}`;
      if (states.at(-1) !== state) states.push(state);
    },
    () => {},
  );
  return { states, stop: () => controller.abort() };
}

describe('node upgrades through the admin API', () => {
  it('reboots a worker into the new kubelet: Ready, then NotReady, then Ready at the new version', async () => {
    const watch = await watchNodeStates('old-1');
    try {
      await eventually(() => watch.states.length > 0, 'the watch to replay old-1');
      const res = await upgrade('old-1', 'v1.30.6');
      expect(res.status, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        node: 'old-1',
        fromVersion: 'v1.29.10',
        targetVersion: 'v1.30.6',
        state: 'succeeded',
      });
      await eventually(() => watch.states.length >= 3, 'the watch to see old-1 come back');
      expect(watch.states).toEqual(['True v1.29.10', 'False v1.29.10', 'True v1.30.6']);
    } finally {
      watch.stop();
    }
    const { stdout } = await sandbox.kubectl('get', 'node', 'old-1', '--no-headers');
    expect(stdout).toMatch(/^old-1\s+Ready\s+<none>\s+\S+\s+v1\.30\.6\s*$/);
  });

  it('upgrades the node a pinned, annotated Job pod runs on, and completes the Job', async () => {
    const batch = sandbox.kubeConfig().makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'upgrade-old-2' },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { annotations: { [UPGRADE_TARGET_ANNOTATION]: 'v1.30.6' } },
            spec: {
              nodeName: 'old-2',
              restartPolicy: 'Never',
              tolerations: [{ operator: 'Exists' }],
              containers: [{ name: 'upgrade', image: 'registry.k8s.io/kubeadm:v1.30.6' }],
            },
          },
        },
      },
    });
    await eventually(
      async () => {
        const job = await batch.readNamespacedJob({ namespace: 'kube-system', name: 'upgrade-old-2' });
        return job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True');
      },
      'the upgrade Job Complete',
      15_000,
    );
    const node = await core.readNode({ name: 'old-2' });
    expect(node.status?.nodeInfo?.kubeletVersion).toBe('v1.30.6');
    expect(readyOf(node)).toBe('True');
  });

  it('fails the Job of a downgrade kubeadm would refuse, with the reason as the pod message', async () => {
    const batch = sandbox.kubeConfig().makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'downgrade-old-4' },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { annotations: { [UPGRADE_TARGET_ANNOTATION]: 'v1.29.9' } },
            spec: {
              nodeName: 'old-4',
              restartPolicy: 'Never',
              tolerations: [{ operator: 'Exists' }],
              containers: [{ name: 'upgrade', image: 'registry.k8s.io/kubeadm:v1.29.9' }],
            },
          },
        },
      },
    });
    const pod = await eventually(
      async () => {
        const pods = await core.listNamespacedPod({
          namespace: 'kube-system',
          labelSelector: 'job-name=downgrade-old-4',
        });
        return pods.items.find((p) => p.status?.phase === 'Failed');
      },
      'the downgrade pod to fail',
      15_000,
    );
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.message).toMatch(
      /^refusing to downgrade node old-4 from v1\.29\.10 to v1\.29\.9: kubeadm does not downgrade/,
    );
    expect((await core.readNode({ name: 'old-4' })).status?.nodeInfo?.kubeletVersion).toBe('v1.29.10');
  });

  it('fails an upgrade as often as the fault says (set at run time), then succeeds', async () => {
    const set = await patchFaults({ upgradeFailures: { 'old-3': 2 } });
    expect(set.status, set.body).toBe(200);
    for (const left of [1, 0]) {
      const res = await upgrade('old-3', 'v1.30.6');
      expect(res.status).toBe(500);
      expect(res.json()).toMatchObject({ state: 'failed' });
      expect(res.json().message).toContain(`${left} more failure(s) pending`);
      expect((await core.readNode({ name: 'old-3' })).status?.nodeInfo?.kubeletVersion).toBe('v1.29.10');
    }
    const res = await upgrade('old-3', 'v1.30.6');
    expect(res.status, res.body).toBe(200);
    expect((await core.readNode({ name: 'old-3' })).status?.nodeInfo?.kubeletVersion).toBe('v1.30.6');
  });

  it('never brings back a node listed in nodesNeverReady', async () => {
    await patchFaults({ nodesNeverReady: ['old-4'] });
    const res = await upgrade('old-4', 'v1.30.6');
    expect(res.status).toBe(500);
    expect(res.json().message).toContain('did not come back');
    // Twice the node's reboot time later, it is still down.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(readyOf(await core.readNode({ name: 'old-4' }))).not.toBe('True');
    await patchFaults({ nodesNeverReady: [] });
  });

  it('moves /version only when the last control-plane member is upgraded, and the mirror pods follow', async () => {
    const versionApi = sandbox.kubeConfig().makeApiClient(VersionApi);
    const apiserverImage = async (node: string) =>
      (await core.readNamespacedPod({ namespace: 'kube-system', name: `kube-apiserver-${node}` })).spec!
        .containers[0]!.image;
    expect((await versionApi.getCode()).gitVersion).toBe('v1.30.6');
    const members = ['cp-1', 'cp-2', 'cp-3'];
    for (const [i, member] of members.entries()) {
      const res = await upgrade(member, 'v1.31.2');
      expect(res.status, res.body).toBe(200);
      expect(await apiserverImage(member)).toMatch(/:v1\.31\.2$/);
      const last = i === members.length - 1;
      expect((await versionApi.getCode()).gitVersion).toBe(last ? 'v1.31.2' : 'v1.30.6');
      for (const other of members.slice(i + 1)) expect(await apiserverImage(other)).toMatch(/:v1\.30\.6$/);
    }
    const summary = await sandbox.admin<{ controlPlane: { version: string } }>('/sandbox/v1/summary');
    expect(summary.controlPlane.version).toBe('v1.31.2');
  });
});
