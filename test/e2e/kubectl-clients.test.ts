/** The three kubectl commands people reach for that the sandbox used to refuse: logs, auth can-i, explain. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from './sandbox-harness.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON documents.
type Json = any;

/** An upgrade Job as the job provider writes it: pinned to a worker, annotated with the target version. */
function upgradeJob(name: string, node: string, version: string): string {
  return JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'kube-system' },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations: { 'upgrade.midflight.dev/target-version': version } },
        spec: {
          nodeName: node,
          restartPolicy: 'Never',
          tolerations: [{ operator: 'Exists' }],
          containers: [{ name: 'upgrade', image: 'busybox:1.36', command: ['kubeadm', 'upgrade', 'node'] }],
        },
      },
    },
  });
}

/** A Job that runs `seconds` of sandbox time and prints nothing (the kubelets' run-to-completion default). */
function quietJob(name: string, seconds: number): string {
  return JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default' },
    spec: {
      template: {
        metadata: { annotations: { 'sandbox.midflight.dev/run-seconds': String(seconds) } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36' }] },
      },
    },
  });
}

describe('kubectl logs, auth can-i and explain against the sandbox', () => {
  let sandbox: RunningSandbox;
  let dir: string;
  let worker: string;
  let target: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(join(tmpdir(), 'midflight-kubectl-'));
    worker = sandbox.box.workerBehindControlPlane()!;
    target = sandbox.box.kubernetesVersion;
  }, 60_000);
  /**
   * Waits until the Job's pod runs: like a real API server, the sandbox refuses the logs of a container that
   * is still being created (its image pulled). Generous: the machine may be shared.
   */
  async function waitForRunningPod(namespace: string, job: string): Promise<string> {
    for (let i = 0; i < 600; i++) {
      const { stdout } = await sandbox.kubectl(
        'get',
        'pods',
        '-n',
        namespace,
        '-l',
        `job-name=${job}`,
        '-o',
        'jsonpath={.items[0].metadata.name} {.items[0].status.phase}',
      );
      const [pod, phase] = stdout.trim().split(' ');
      if (phase === 'Running') return pod!;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the pod of job ${namespace}/${job} never ran`);
  }

  afterAll(async () => {
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('kubectl logs', () => {
    it("reads what an upgrade Job's container printed, whole, tailed and followed to its end", async () => {
      const file = join(dir, 'job.json');
      writeFileSync(file, upgradeJob('upgrade-logs', worker, target));
      expect((await sandbox.kubectl('apply', '-f', file)).code).toBe(0);
      await waitForRunningPod('kube-system', 'upgrade-logs');
      // Followed from the start, the stream ends when the container exits: after the node came back.
      const followed = await sandbox.kubectl('logs', '-n', 'kube-system', 'job/upgrade-logs', '-f');
      expect(followed.code).toBe(0);
      expect(followed.stdout.trim().split('\n')).toEqual([
        `upgrading node ${worker} to ${target}`,
        expect.stringMatching(new RegExp(`^node ${worker} upgraded from v\\S+ to ${target}$`)),
      ]);
      const waited = await sandbox.kubectl(
        'wait',
        '-n',
        'kube-system',
        '--for=condition=complete',
        'job/upgrade-logs',
        '--timeout=60s',
      );
      expect(waited.code).toBe(0);
      const pod = (
        await sandbox.kubectl('get', 'pods', '-n', 'kube-system', '-l', 'job-name=upgrade-logs', '-o', 'name')
      ).stdout.trim();
      expect(pod).toMatch(/^pod\/upgrade-logs-/);
      const whole = await sandbox.kubectl('logs', '-n', 'kube-system', pod);
      expect(whole.stdout).toBe(followed.stdout);
      const tail = await sandbox.kubectl('logs', '-n', 'kube-system', pod, '--tail=1', '--timestamps');
      expect(tail.stdout).toMatch(
        new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z node ${worker} upgraded from v\\S+ to ${target}\\n$`),
      );
      const wrong = await sandbox.kubectl('logs', '-n', 'kube-system', pod, '-c', 'sidecar');
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain(`container sidecar is not valid for pod ${pod.slice(4)}`);
    }, 120_000);

    it('ends a followed log when its container exits, even one that printed nothing', async () => {
      // 300 s of sandbox time: 15 s of wall time at the harness's 20×, ample to start following it.
      const file = join(dir, 'quiet.json');
      writeFileSync(file, quietJob('quiet', 300));
      expect((await sandbox.kubectl('apply', '-f', file)).code).toBe(0);
      await waitForRunningPod('default', 'quiet');
      const followed = await sandbox.kubectl('logs', '-n', 'default', 'job/quiet', '-f');
      expect(followed).toEqual({ stdout: '', stderr: '', code: 0 });
      const phase = await sandbox.kubectl(
        'get',
        'pods',
        '-n',
        'default',
        '-l',
        'job-name=quiet',
        '-o',
        'jsonpath={.items[0].status.phase}',
      );
      expect(phase.stdout).toBe('Succeeded');
    }, 120_000);

    it('answers a container that printed nothing with an empty log, not an error', async () => {
      const { stdout } = await sandbox.kubectl('get', 'pods', '-n', 'kube-system', '-o', 'name');
      const etcd = stdout.split('\n').find((p) => p.startsWith('pod/etcd-'))!;
      const logs = await sandbox.kubectl('logs', '-n', 'kube-system', etcd);
      expect(logs).toEqual({ stdout: '', stderr: '', code: 0 });
    });

    it('serves pods/log over HTTP as plain text, with tailLines and the Status errors of the real server', async () => {
      const list = (
        await sandbox.request(
          'GET',
          '/api/v1/namespaces/kube-system/pods?labelSelector=job-name%3Dupgrade-logs',
        )
      ).json();
      const name = list.items[0].metadata.name;
      const path = `/api/v1/namespaces/kube-system/pods/${name}/log`;
      const tailed = await sandbox.request('GET', `${path}?container=upgrade&tailLines=1`);
      expect(tailed.status).toBe(200);
      expect(tailed.headers['content-type']).toMatch(/^text\/plain/);
      expect(tailed.body).toMatch(/^node \S+ upgraded from v\S+ to v\S+\n$/);
      const missing = await sandbox.request('GET', '/api/v1/namespaces/kube-system/pods/nope/log');
      expect(missing.status).toBe(404);
      expect(missing.json()).toMatchObject({
        kind: 'Status',
        reason: 'NotFound',
        message: 'pods "nope" not found',
      });
      const previous = await sandbox.request('GET', `${path}?previous=true`);
      expect(previous.status).toBe(400);
      expect(previous.json().message).toBe(
        `previous terminated container "upgrade" in pod "${name}" not found`,
      );
      const posted = await sandbox.request('POST', path, { body: {} });
      expect(posted.status).toBe(405);
    });
  });

  describe('kubectl auth can-i', () => {
    it.each([
      [['get', 'pods']],
      [['create', 'deployments', '-n', 'default']],
      [['delete', 'nodes']],
      [['create', 'pods/eviction', '-n', 'kube-system']],
      [['get', '/healthz']],
    ])('kubectl auth can-i %j: yes (the sandbox has one user, and it is cluster-admin)', async (args) => {
      const { stdout, code } = await sandbox.kubectl('auth', 'can-i', ...args);
      expect({ stdout: stdout.trim(), code }).toEqual({ stdout: 'yes', code: 0 });
    });

    it('lists the rules and says who the user is', async () => {
      const list = await sandbox.kubectl('auth', 'can-i', '--list');
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
      const whoami = await sandbox.kubectl('auth', 'whoami', '-o', 'json');
      expect(JSON.parse(whoami.stdout).status.userInfo.groups).toContain('system:masters');
    });

    it('answers a SelfSubjectAccessReview over HTTP, and refuses one that asks about nothing', async () => {
      const path = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
      const review = {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: 'patch', resource: 'nodes' } },
      };
      const allowed = await sandbox.request('POST', path, { body: review });
      expect(allowed.status).toBe(201);
      expect(allowed.json()).toMatchObject({ ...review, status: { allowed: true } });
      const empty = await sandbox.request('POST', path, { body: { ...review, spec: {} } });
      expect(empty.status).toBe(422);
      expect(empty.json().message).toContain('exactly one of nonResourceAttributes or resourceAttributes');
      expect((await sandbox.request('GET', path)).status).toBe(405);
    });
  });

  describe('kubectl explain', () => {
    it.each([
      [
        'pods.spec',
        ['KIND:       Pod', 'containers\t<[]Object>', 'tolerations\t<[]Object>', 'nodeName\t<string>'],
      ],
      ['pods.spec.containers.resources', ['limits\t<map[string]string>', 'requests\t<map[string]string>']],
      ['deployments.spec.strategy.rollingUpdate', ['GROUP:      apps', 'maxSurge\t<string>']],
      ['poddisruptionbudgets.spec', ['GROUP:      policy', 'minAvailable', 'unhealthyPodEvictionPolicy']],
      ['nodes.spec.taints', ['effect\t<string>', 'timeAdded\t<string>']],
    ])('kubectl explain %s', async (field, expected) => {
      const { stdout, stderr, code } = await sandbox.kubectl('explain', field);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      for (const text of expected) expect(stdout).toContain(text);
    });

    it('serves an OpenAPI v3 document per group version, with a schema for each served kind', async () => {
      const root = (await sandbox.request('GET', '/openapi/v3')).json();
      expect(Object.keys(root.paths)).toEqual(
        expect.arrayContaining(['api/v1', 'apis/apps/v1', 'apis/batch/v1']),
      );
      const apps = (await sandbox.request('GET', root.paths['apis/apps/v1'].serverRelativeURL)).json();
      const deployment = Object.values(apps.components.schemas).find((s: unknown) =>
        JSON.stringify((s as Record<string, unknown>)['x-kubernetes-group-version-kind']).includes(
          '"Deployment"',
        ),
      ) as Json;
      expect(deployment['x-kubernetes-group-version-kind']).toEqual([
        { group: 'apps', kind: 'Deployment', version: 'v1' },
      ]);
      expect(deployment.properties.spec.properties.replicas).toEqual({ type: 'integer' });
      expect(deployment.properties.metadata.properties.creationTimestamp).toEqual({
        type: 'string',
        format: 'date-time',
      });
    });
  });
});
