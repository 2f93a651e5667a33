/**
 * The sandbox's SLIs (issue 12's M1–M7) as a real Prometheus sees them: it scrapes two sandboxes (over TLS,
 * with their bearer tokens) and the tests ask it in PromQL, as Midflight's gates will. Each SLI must be
 * there with the shape a query for a real cluster expects, and the faults must move it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_ID_LABEL } from '../../src/core/index.ts';
import {
  type PromSample,
  prometheusAvailable,
  type RunningPrometheus,
  scrapeTargetOf,
  startPrometheus,
} from '../e2e/prometheus-harness.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { scenarioFromYaml } from './integration/integration-helpers.ts';

const SLIS = scenarioFromYaml(`
name: slis
kubernetesVersion: v1.31.4
controlPlane: { nodes: 3 }
nodePools: [{ name: general, count: 3, capacity: { cpu: "8", memory: 32Gi } }]
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 3, pdb: { maxUnavailable: 1 }, traffic: { rps: 100, latencyMs: 40, errorRatio: 0.001 } }
  - { name: worker, namespace: app, kind: Deployment, replicas: 2 }
  - { name: db, namespace: app, kind: StatefulSet, replicas: 2, storageClass: fast-ssd, traffic: { rps: 20, latencyMs: 10 } }
`);

/** The window of every rate(): 15 scrapes at 1 s. */
const W = '15s';

const byLabel = (samples: PromSample[], label: string) =>
  Object.fromEntries(samples.map((s) => [s.metric[label] ?? '', s.value]));

describe.skipIf(!prometheusAvailable())('SLI metrics scraped by a real Prometheus', () => {
  let slis: RunningSandbox;
  let regression: RunningSandbox;
  let prom: RunningPrometheus;

  beforeAll(async () => {
    [slis, regression] = await Promise.all([
      startSandbox({ scenario: SLIS }),
      startSandbox({ scenario: 'regression' }),
    ]);
    prom = await startPrometheus({
      targets: [
        scrapeTargetOf(slis.kubeConfig(), 'slis'),
        scrapeTargetOf(regression.kubeConfig(), 'regression'),
      ],
    });
    await prom.waitForTargetsUp();
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await Promise.all([slis?.stop(), regression?.stop()]);
  });

  const faults = async (sandbox: RunningSandbox, body: unknown) => {
    const res = await sandbox.request('PATCH', '/sandbox/v1/faults', { body });
    expect(res.status, res.body).toBe(200);
  };

  it('M1: the API server success ratio, one number in [0, 1]', async () => {
    expect((await slis.request('GET', '/api/v1/nodes')).status).toBe(200);
    const [ratio] = await prom.waitFor(
      `sum(rate(apiserver_request_total{job="slis",code!~"5.."}[${W}])) / sum(rate(apiserver_request_total{job="slis"}[${W}]))`,
      (s) => s.length === 1,
    );
    expect(ratio!.value).toBe(1);
  });

  it('M2: node readiness from kube-state-metrics series, one per node and condition status', async () => {
    const ready = await prom.waitFor(
      'kube_node_status_condition{job="slis",condition="Ready",status="true"}',
      (s) => s.length === 6,
    );
    expect(ready.map((s) => s.metric.node).sort()).toEqual([
      'cp-1',
      'cp-2',
      'cp-3',
      'general-1',
      'general-2',
      'general-3',
    ]);
    const [share] = await prom.query(
      'sum(kube_node_status_condition{job="slis",condition="Ready",status="true"}) / count(kube_node_spec_unschedulable{job="slis"})',
    );
    expect(share!.value).toBe(1);
    const podsReady = await prom.query(
      'sum by (condition) (kube_pod_status_ready{job="slis",namespace="app"})',
    );
    expect(byLabel(podsReady, 'condition')).toEqual({ true: 7, false: 0, unknown: 0 });
  });

  it('M3: a disruption counts under the run id its eviction was labelled with; anyone else’s under none', async () => {
    const pods = (await slis.request('GET', '/api/v1/namespaces/app/pods?labelSelector=app%3Dweb')).json()
      .items as Array<{ metadata: { name: string } }>;
    const ours = pods[0]!.metadata.name;
    const evicted = await slis.request('POST', `/api/v1/namespaces/app/pods/${ours}/eviction`, {
      body: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: ours, namespace: 'app', labels: { [RUN_ID_LABEL]: 'run-20261207-101500-ab12' } },
      },
    });
    expect(evicted.status, evicted.body).toBe(201);
    const workers = (
      await slis.request('GET', '/api/v1/namespaces/app/pods?labelSelector=app%3Dworker')
    ).json().items as Array<{ metadata: { name: string } }>;
    const deleted = await slis.request('DELETE', `/api/v1/namespaces/app/pods/${workers[0]!.metadata.name}`);
    expect(deleted.status, deleted.body).toBe(200);

    const unplanned = `sum by (cause) (sandbox_pod_disruptions_total{job="slis",run_id!="run-20261207-101500-ab12"})`;
    const samples = await prom.waitFor(unplanned, (s) => s.length > 0);
    expect(byLabel(samples, 'cause')).toEqual({ delete: 1 });
    const [own] = await prom.query(
      'sum(sandbox_pod_disruptions_total{job="slis",run_id="run-20261207-101500-ab12",cause="eviction"})',
    );
    expect(own!.value).toBe(1);
  });

  it('M4 and M5: latency p95 and 5xx ratio per service, from the services’ own histograms and counters', async () => {
    const p95 = await prom.waitFor(
      `histogram_quantile(0.95, sum by (namespace, service, le) (rate(http_request_duration_seconds_bucket{job="slis"}[${W}])))`,
      (s) => s.length === 2 && s.every((x) => Number.isFinite(x.value)),
    );
    const latency = byLabel(p95, 'service');
    // web's mean is 40 ms, db's 10 ms; the tail is at twice the mean (see the traffic model).
    expect(latency.web).toBeGreaterThan(0.04);
    expect(latency.web).toBeLessThanOrEqual(0.1);
    expect(latency.db).toBeLessThan(latency.web!);
    const errors = await prom.query(
      `sum by (service) (rate(http_requests_total{job="slis",code=~"5.."}[${W}])) / sum by (service) (rate(http_requests_total{job="slis"}[${W}]))`,
    );
    for (const s of errors) expect(s.value).toBeLessThan(0.05);
  });

  it('M6: etcd commit p99 per member stays under 200 ms, and the slow-disk fault takes it well above', async () => {
    const p99 = `histogram_quantile(0.99, sum by (pod, le) (rate(etcd_disk_backend_commit_duration_seconds_bucket{job="slis"}[${W}])))`;
    const healthy = await prom.waitFor(
      p99,
      (s) => s.length === 3 && s.every((x) => Number.isFinite(x.value)),
    );
    expect(healthy.map((s) => s.metric.pod).sort()).toEqual(['etcd-cp-1', 'etcd-cp-2', 'etcd-cp-3']);
    for (const s of healthy) expect(s.value).toBeLessThan(0.2);
    const [leaders] = await prom.query('sum(etcd_server_is_leader{job="slis"})');
    expect(leaders!.value).toBe(1);

    await faults(slis, { etcdSlowDisk: { 'cp-2': 400 } });
    try {
      const slow = await prom.waitFor(p99, (s) =>
        s.some((x) => x.metric.pod === 'etcd-cp-2' && x.value > 0.2),
      );
      expect(byLabel(slow, 'pod')['etcd-cp-2']).toBeGreaterThan(0.4);
      expect(byLabel(slow, 'pod')['etcd-cp-1']).toBeLessThan(0.2);
    } finally {
      await faults(slis, { etcdSlowDisk: {} });
    }
  });

  it('M7: volume attaches succeed, and the attach-failure fault makes the class’s attaches fail', async () => {
    const failures = `sum(storage_operation_duration_seconds_count{job="slis",operation_name="volume_attach",status!="success"}) or vector(0)`;
    const attached = await prom.waitFor(
      'sum by (volume_plugin) (storage_operation_duration_seconds_count{job="slis",operation_name="volume_attach",status="success"})',
      (s) => s.length === 1 && s[0]!.value >= 2,
    );
    expect(attached[0]!.metric.volume_plugin).toBe('kubernetes.io/csi:block.csi.sandbox.midflight.dev');
    expect((await prom.query(failures))[0]!.value).toBe(0);

    await faults(slis, { csiAttachFailures: ['fast-ssd'] });
    try {
      // The StatefulSet brings db-0 back on a node, whose attach of its new volume now fails.
      expect((await slis.request('DELETE', '/api/v1/namespaces/app/pods/db-0')).status).toBe(200);
      await prom.waitFor(failures, (s) => s[0]!.value > 0);
      const attachments = (await slis.request('GET', '/apis/storage.k8s.io/v1/volumeattachments')).json()
        .items as Array<{ status?: { attached?: boolean; attachError?: { message?: string } } }>;
      expect(attachments.some((a) => a.status?.attached === false && a.status.attachError?.message)).toBe(
        true,
      );
      const events = (await slis.request('GET', '/api/v1/namespaces/app/events')).json().items as Array<{
        reason: string;
        involvedObject: { name: string };
      }>;
      expect(events.some((e) => e.reason === 'FailedAttachVolume' && e.involvedObject.name === 'db-0')).toBe(
        true,
      );
      // The kubelet waits for the volume: the new db-0 stays ContainerCreating while the attach fails.
      const pod = (await slis.request('GET', '/api/v1/namespaces/app/pods/db-0')).json();
      expect(pod.status.phase).toBe('Pending');
      expect(pod.status.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ContainerCreating');
      // The old db-0's volume was detached from its node once the pod was gone.
      await prom.waitFor(
        'sum(storage_operation_duration_seconds_count{job="slis",operation_name="volume_detach",status="success"})',
        (s) => s[0]!.value >= 1,
      );
    } finally {
      await faults(slis, { csiAttachFailures: [] });
    }
    // The retry after the fault is cleared attaches the new volume, and db-0 starts.
    await prom.waitFor(
      'sum(storage_operation_duration_seconds_count{job="slis",operation_name="volume_attach",status="success"})',
      (s) => s[0]!.value >= 3,
    );
    await prom.waitFor(
      'kube_pod_status_ready{job="slis",namespace="app",pod="db-0",condition="true"}',
      (s) => s[0]?.value === 1,
    );
  });

  it('the regression scenario: services on nodes upgraded to the faulty kubelet raise the 5xx ratio', async () => {
    const ratio = `sum(rate(http_requests_total{job="regression",service="storefront",code=~"5.."}[${W}])) / sum(rate(http_requests_total{job="regression",service="storefront"}[${W}]))`;
    const [before] = await prom.waitFor(ratio, (s) => s.length === 1 && Number.isFinite(s[0]!.value));
    expect(before!.value).toBeLessThan(0.01);
    // kubeadm's order: the control plane first (a kubelet may not be newer than the API server).
    for (const node of ['cp-1', 'cp-2', 'cp-3', 'general-1', 'general-2', 'general-3']) {
      const res = await regression.request('POST', `/sandbox/v1/nodes/${node}/upgrade?wait=true`, {
        body: { version: 'v1.32.0' },
      });
      expect(res.status, res.body).toBe(200);
    }
    // Three of the six workers on v1.32.0 hold about half the replicas: 0.1% + half of 8% (regression.yaml).
    // A node's reboot alone takes one replica of six away at a time, which adds no error (traffic model).
    const [after] = await prom.waitFor(ratio, (s) => s.length === 1 && s[0]!.value > 0.025);
    expect(after!.value).toBeLessThan(0.1);
    expect(after!.value).toBeGreaterThan(2 * before!.value);
  }, 120_000);
});
