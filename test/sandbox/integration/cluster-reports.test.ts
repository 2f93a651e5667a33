import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  KubeConfig,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/clock.ts';
import { Sandbox } from '../../../src/sandbox/sandbox.ts';
import { type RunningSandbox, rawRequest, startSandbox } from '../../e2e/sandbox-harness.ts';
import { eventually, scenarioFromYaml } from './integration-helpers.ts';

// What the sandbox says about itself, read as a user reads a real cluster: Events, node Leases, pod status.
const REPORTS = scenarioFromYaml(`
name: reports
kubernetesVersion: v1.30.6
controlPlane: { nodes: 1 }
nodePools:
  - { name: old, count: 3, version: v1.29.10, capacity: { cpu: "8", memory: 32Gi } }
timing:
  nodeUpgradeSeconds: 60
  podStartSeconds: 1
  podReadySeconds: 1
  imagePullSeconds: 4
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 2 }
`);

let sandbox: RunningSandbox;
let core: CoreV1Api;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: REPORTS, timeScale: 20 });
  core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
});
afterAll(() => sandbox?.stop());

/** A node's Events as `kubectl describe node` finds them (the kubelet uses the node's name as its uid). */
async function nodeEvents(node: string): Promise<CoreV1Event[]> {
  const list = await core.listEventForAllNamespaces({
    fieldSelector: `involvedObject.kind=Node,involvedObject.name=${node}`,
  });
  return list.items;
}

async function podEvents(namespace: string, pod: string): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod}`,
  });
  return list.items;
}

const reasons = (events: CoreV1Event[]) => events.map((e) => e.reason);

function pinnedDeployment(name: string, node: string, image: string) {
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': node },
          containers: [{ name: 'main', image }],
        },
      },
    },
  };
}

/** Watches the pods of one app and records each change of their (phase, container state) pair. */
async function watchPodStates(namespace: string, app: string) {
  const states: string[] = [];
  const controller = await new Watch(sandbox.kubeConfig()).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { labelSelector: `app=${app}` },
    (_type, pod: V1Pod) => {
      const state = pod.status?.containerStatuses?.[0]?.state;
      const container = state?.waiting?.reason ?? (state?.running ? 'running' : state ? 'other' : 'none');
      const entry = `${pod.status?.phase} ${container}`;
      if (states.at(-1) !== entry) states.push(entry);
    },
    () => {},
  );
  return { states, stop: () => controller.abort() };
}

describe('node heartbeat Leases', () => {
  it('keeps one Lease per node in kube-node-lease, held by the node and renewed by its kubelet', async () => {
    const coordination = sandbox.kubeConfig().makeApiClient(CoordinationV1Api);
    const nodes = (await core.listNode()).items.map((n) => n.metadata?.name).sort();
    const leases = await coordination.listNamespacedLease({ namespace: 'kube-node-lease' });
    expect(leases.items.map((l) => l.metadata?.name).sort()).toEqual(nodes);
    const first = leases.items.find((l) => l.metadata?.name === 'old-1')!;
    expect(first.spec).toMatchObject({ holderIdentity: 'old-1', leaseDurationSeconds: 40 });
    expect(first.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Node', name: 'old-1' });
    const renewed = await eventually(async () => {
      const lease = await coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: 'old-1' });
      const later = new Date(lease.spec!.renewTime!).getTime() > new Date(first.spec!.renewTime!).getTime();
      return later && lease;
    }, 'the kubelet to renew its Lease');
    expect(renewed.spec?.holderIdentity).toBe('old-1');
  });

  it('lets kubectl describe node show the Lease instead of a warning', async () => {
    const { stdout, code } = await sandbox.kubectl('describe', 'node', 'old-2');
    expect(code).toBe(0);
    expect(stdout).toMatch(/Lease:\s+HolderIdentity:\s+old-2/);
    expect(stdout).not.toMatch(/Failed to get lease/);
  });
});

describe('pod start-up', () => {
  it('shows ContainerCreating while a new image is pulled, with the kubelet and scheduler Events', async () => {
    const apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
    const watch = await watchPodStates('app', 'fresh');
    try {
      await apps.createNamespacedDeployment({
        namespace: 'app',
        body: pinnedDeployment('fresh', 'old-1', 'registry.example/fresh:1.0'),
      });
      await eventually(() => watch.states.includes('Running running'), 'the new pod to run');
      expect(watch.states.slice(0, 3)).toEqual([
        'Pending none',
        'Pending ContainerCreating',
        'Running running',
      ]);
    } finally {
      watch.stop();
    }
    const pod = (await core.listNamespacedPod({ namespace: 'app', labelSelector: 'app=fresh' })).items[0]!;
    const name = pod.metadata!.name!;
    const events = await eventually(async () => {
      const found = await podEvents('app', name);
      return found.length >= 5 && found;
    }, 'the pod Events');
    expect(reasons(events)).toEqual(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']);
    expect(events[0]).toMatchObject({
      type: 'Normal',
      message: `Successfully assigned app/${name} to old-1`,
      source: { component: 'default-scheduler' },
    });
    const pulled = events[2]!;
    expect(pulled.message).toMatch(
      /^Successfully pulled image "registry\.example\/fresh:1\.0" in [\d.]+m?s \([\d.]+m?s including waiting\)\. Image size: \d+ bytes\.$/,
    );
    for (const e of events.slice(1)) {
      expect(e.source).toEqual({ component: 'kubelet', host: 'old-1' });
      expect(e.involvedObject.fieldPath).toBe('spec.containers{main}');
      expect(e.reportingComponent).toBe('kubelet');
      expect(e.reportingInstance).toBe('old-1');
      expect(e.count).toBe(1);
    }
  });

  it('finds an image already on the node the second time, and reports Killing when a pod is deleted', async () => {
    const apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: 'app',
      body: pinnedDeployment('again', 'old-1', 'registry.example/fresh:1.0'),
    });
    const pod = await eventually(async () => {
      const list = await core.listNamespacedPod({ namespace: 'app', labelSelector: 'app=again' });
      return list.items.find((p) => p.status?.phase === 'Running');
    }, 'the second pod to run');
    const name = pod.metadata!.name!;
    const events = await eventually(async () => {
      const found = await podEvents('app', name);
      return found.length >= 4 && found;
    }, 'its Events');
    expect(events.find((e) => e.reason === 'Pulled')?.message).toBe(
      'Container image "registry.example/fresh:1.0" already present on machine',
    );
    expect(reasons(events)).not.toContain('Pulling');

    await core.deleteNamespacedPod({ namespace: 'app', name });
    const killing = await eventually(
      async () => (await podEvents('app', name)).find((e) => e.reason === 'Killing'),
      'the Killing Event',
    );
    expect(killing).toMatchObject({ message: 'Stopping container main', source: { component: 'kubelet' } });
  });
});

describe('controller Events', () => {
  it('reports a scale-up and a scale-down as the deployment and replica set controllers do', async () => {
    const apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
    const eventsOf = async (kind: string, name: string) =>
      (
        await core.listNamespacedEvent({
          namespace: 'app',
          fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
        })
      ).items;
    const rs = (await apps.listNamespacedReplicaSet({ namespace: 'app' })).items.find((r) =>
      r.metadata?.name?.startsWith('web-'),
    )!;
    const rsName = rs.metadata!.name!;
    expect((await sandbox.kubectl('scale', '-n', 'app', 'deployment/web', '--replicas=3')).code).toBe(0);
    const created = await eventually(async () => {
      const found = (await eventsOf('ReplicaSet', rsName)).find((e) => e.reason === 'SuccessfulCreate');
      return found;
    }, 'the SuccessfulCreate Event');
    expect(created).toMatchObject({
      type: 'Normal',
      source: { component: 'replicaset-controller' },
      message: expect.stringMatching(new RegExp(`^Created pod: ${rsName}-[a-z0-9]{5}$`)),
    });
    expect((await sandbox.kubectl('scale', '-n', 'app', 'deployment/web', '--replicas=2')).code).toBe(0);
    const deleted = await eventually(
      async () => (await eventsOf('ReplicaSet', rsName)).find((e) => e.reason === 'SuccessfulDelete'),
      'the SuccessfulDelete Event',
    );
    expect(deleted.message).toMatch(new RegExp(`^Deleted pod: ${rsName}-[a-z0-9]{5}$`));
    const scaling = (await eventsOf('Deployment', 'web')).filter((e) => e.reason === 'ScalingReplicaSet');
    expect(scaling.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        `Scaled up replica set ${rsName} to 3 from 2`,
        `Scaled down replica set ${rsName} to 2 from 3`,
      ]),
    );
    expect(scaling[0]?.source).toEqual({ component: 'deployment-controller' });
  });
});

describe('node Events during an upgrade', () => {
  it('reports the cordon, the reboot into the new kubelet and the uncordon as a real cluster does', async () => {
    expect((await sandbox.kubectl('cordon', 'old-3')).code).toBe(0);
    const res = await sandbox.request('POST', '/sandbox/v1/nodes/old-3/upgrade?wait=true', {
      body: { version: 'v1.30.6' },
    });
    expect(res.status, res.body).toBe(200);
    expect((await sandbox.kubectl('uncordon', 'old-3')).code).toBe(0);
    const events = await eventually(async () => {
      const found = await nodeEvents('old-3');
      return reasons(found).includes('NodeSchedulable') && found;
    }, 'the NodeSchedulable Event');
    // In the order they were first written: Event names end in the hex nanoseconds of their creation.
    const created = (e: CoreV1Event) => BigInt(`0x${e.metadata!.name!.split('.').at(-1)}`);
    const byTime = [...events].sort((a, b) => (created(a) < created(b) ? -1 : 1));
    expect(byTime.map((e) => `${e.source?.component} ${e.reason} ×${e.count}`)).toEqual([
      // The kubelet reports the node cordoned again as it starts: the same Event, counted twice.
      'kubelet NodeNotSchedulable ×2',
      'kubelet NodeNotReady ×1',
      'node-controller NodeNotReady ×1',
      'kubelet Starting ×1',
      'kubelet Rebooted ×1',
      'kubelet NodeHasSufficientMemory ×1',
      'kubelet NodeHasNoDiskPressure ×1',
      'kubelet NodeHasSufficientPID ×1',
      'kubelet NodeAllocatableEnforced ×1',
      'kubelet NodeReady ×1',
      'kubelet NodeSchedulable ×1',
    ]);
    // The DaemonSet pods that stayed on the node restart in a new sandbox.
    const daemonPod = (
      await core.listNamespacedPod({ namespace: 'kube-system', fieldSelector: 'spec.nodeName=old-3' })
    ).items.find((p) => p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet'))!;
    const restarted = reasons(await podEvents('kube-system', daemonPod.metadata!.name!));
    expect(restarted).toEqual(expect.arrayContaining(['SandboxChanged', 'Created', 'Started']));
    const node = await core.readNode({ name: 'old-3' });
    const rebooted = byTime.find((e) => e.reason === 'Rebooted')!;
    expect(rebooted).toMatchObject({
      type: 'Warning',
      message: `Node old-3 has been rebooted, boot id: ${node.status?.nodeInfo?.bootID}`,
      involvedObject: { kind: 'Node', name: 'old-3', uid: 'old-3' },
      source: { component: 'kubelet', host: 'old-3' },
    });
    expect(byTime.find((e) => e.reason === 'NodeReady')?.message).toBe('Node old-3 status is now: NodeReady');
    const { stdout } = await sandbox.kubectl('describe', 'node', 'old-3');
    expect(stdout).toMatch(/Warning\s+Rebooted\s+\S+\s+kubelet\s+Node old-3 has been rebooted/);
    expect(stdout).toMatch(
      /Normal\s+NodeNotReady\s+\S+\s+node-controller\s+Node old-3 status is now: NodeNotReady/,
    );
  });

  it('pulls images again on a node rebooted into a new version (a new machine image)', async () => {
    // web's image was on every node at start; old-3 came back from its upgrade without it.
    const apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
    const web = await apps.readNamespacedDeployment({ namespace: 'app', name: 'web' });
    const image = web.spec!.template.spec!.containers[0]!.image!;
    await apps.createNamespacedDeployment({
      namespace: 'app',
      body: pinnedDeployment('cold', 'old-3', image),
    });
    const pod = await eventually(async () => {
      const list = await core.listNamespacedPod({ namespace: 'app', labelSelector: 'app=cold' });
      return list.items.find((p) => p.status?.phase === 'Running');
    }, 'the pod on the upgraded node to run');
    const events = await eventually(async () => {
      const found = await podEvents('app', pod.metadata!.name!);
      return found.length >= 5 && found;
    }, 'its Events');
    expect(reasons(events)).toEqual(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']);
  });

  it('aggregates a repeated Event by count instead of writing it again', async () => {
    const countOf = async (reason: string) => {
      const found = (await nodeEvents('old-2')).filter((e) => e.reason === reason);
      expect(found.length).toBeLessThanOrEqual(1);
      return found[0]?.count ?? 0;
    };
    for (const round of [1, 2]) {
      expect((await sandbox.kubectl('cordon', 'old-2')).code).toBe(0);
      await eventually(
        async () => (await countOf('NodeNotSchedulable')) === round,
        `cordon ${round} counted`,
      );
      expect((await sandbox.kubectl('uncordon', 'old-2')).code).toBe(0);
      await eventually(async () => (await countOf('NodeSchedulable')) === round, `uncordon ${round} counted`);
    }
    const [event] = (await nodeEvents('old-2')).filter((e) => e.reason === 'NodeSchedulable');
    expect(new Date(event!.lastTimestamp!).getTime()).toBeGreaterThan(
      new Date(event!.firstTimestamp!).getTime(),
    );
  });
});

describe('Event expiry', () => {
  it('removes an Event an hour after its last update, measured on the sandbox clock', async () => {
    const box = await Sandbox.start({ scenario: REPORTS, clock: new VirtualClock() });
    try {
      const kc = new KubeConfig();
      kc.loadFromString(box.kubeconfig());
      const api = kc.makeApiClient(CoreV1Api);
      const advance = async (seconds: number) => {
        const res = await rawRequest(kc, 'POST', `/sandbox/v1/clock/advance?seconds=${seconds}`);
        expect(res.status, res.body).toBe(200);
      };
      const cordon = async (unschedulable: boolean) => {
        const res = await rawRequest(kc, 'PATCH', '/api/v1/nodes/old-1', {
          body: { spec: { unschedulable } },
          headers: { 'content-type': 'application/merge-patch+json' },
        });
        expect(res.status, res.body).toBe(200);
        await advance(1);
      };
      const names = async () =>
        new Set((await api.listEventForAllNamespaces()).items.map((e) => e.metadata?.name));
      await advance(30);
      const startUp = await names();
      expect(startUp.size).toBeGreaterThan(0);
      await cordon(true);
      await cordon(false);
      await advance(50 * 60);
      // 50 minutes later the same cordon again: its Event is counted, and lives an hour from now.
      await cordon(true);
      const [cordoned] = (await api.listEventForAllNamespaces({ fieldSelector: 'reason=NodeNotSchedulable' }))
        .items;
      expect(cordoned?.count).toBe(2);
      await advance(11 * 60);
      const later = await names();
      expect([...startUp].filter((n) => later.has(n))).toEqual([]);
      expect(later.has(cordoned?.metadata?.name)).toBe(true);
      await advance(50 * 60);
      expect((await names()).has(cordoned?.metadata?.name)).toBe(false);
    } finally {
      await box.stop();
    }
  });
});
