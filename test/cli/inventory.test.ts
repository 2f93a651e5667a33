import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/core/inventory.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { closedPortKubeconfig, runCli } from './run-cli.ts';

describe('midflight inventory', () => {
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox();
  }, 120_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('prints control plane, nodes, pools, add-ons and counts as tables', async () => {
    const { code, stdout, stderr } = await runCli('--kubeconfig', sandbox.kubeconfigPath, 'inventory');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Cluster https:\/\/127\.0\.0\.1:\d+: Kubernetes v1\.30\.6/);
    expect(stdout).toMatch(/^CONTROL PLANE\s+APISERVER\s+CONTROLLER-MANAGER\s+SCHEDULER\s+ETCD$/m);
    expect(stdout).toMatch(/^cp-2\s+v1\.30\.6\s+v1\.30\.6\s+v1\.30\.6\s+3\.5\.\S+$/m);
    expect(stdout).toMatch(/^compute-1\s+compute\s+Ready\s+v1\.29\.10\s+containerd:\/\/\S+\s+Ubuntu/m);
    expect(stdout).toMatch(/^general\s+4\s+4\s+v1\.30\.6$/m);
    for (const addon of [
      'calico',
      'kube-proxy',
      'coredns',
      'metrics-server',
      'hostpath.csi.k8s.io',
      'ingress-nginx',
    ])
      expect(stdout).toMatch(new RegExp(`^${addon.replace(/\./g, '\\.')}\\s`, 'm'));
    expect(stdout).toContain('0 CRDs, 1 validating and 0 mutating webhooks, 1 Helm releases');
  });

  it('answers JSON for scripts, through $KUBECONFIG and --context', async () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = sandbox.kubeconfigPath;
    try {
      const { code, stdout } = await runCli('--context', 'midflight-sandbox', 'inventory', '-o', 'json');
      expect(code).toBe(0);
      const inventory = JSON.parse(stdout) as Inventory;
      expect(inventory.nodes).toHaveLength(10);
      expect(inventory.controlPlane.map((m) => m.node)).toEqual(['cp-1', 'cp-2', 'cp-3']);
      expect(inventory.nodes.find((n) => n.name === 'general-1')).toMatchObject({
        pool: 'general',
        kubelet: 'v1.30.6',
        ready: true,
        schedulable: true,
      });
      expect(inventory.addons.find((a) => a.name === 'calico')).toMatchObject({
        category: 'cni',
        workload: 'DaemonSet kube-system/calico-node',
      });
      expect(inventory.pools.map((p) => p.name)).toEqual(['compute', 'control-plane', 'general']);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('shows a cordoned node as SchedulingDisabled', async () => {
    const cordon = await sandbox.kubectl('cordon', 'general-3');
    expect(cordon.code, cordon.stderr).toBe(0);
    try {
      const { stdout } = await runCli('--kubeconfig', sandbox.kubeconfigPath, 'inventory');
      expect(stdout).toMatch(/^general-3\s+general\s+Ready,SchedulingDisabled\s/m);
    } finally {
      await sandbox.kubectl('uncordon', 'general-3');
    }
  });

  it.each([
    [['inventory', '-o', 'xml'], 2, /unknown output format "xml"/],
    [['--context', 'nowhere', 'inventory'], 2, /context "nowhere" is not in the kubeconfig/],
  ])('refuses bad usage %j with exit %i', async (args, exitCode, message) => {
    const { code, stderr } = await runCli('--kubeconfig', sandbox.kubeconfigPath, ...args);
    expect(code).toBe(exitCode);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says in one line that a cluster cannot be reached, with exit 1', async () => {
    const path = `${sandbox.kubeconfigPath}.closed`;
    writeFileSync(path, closedPortKubeconfig(sandbox.box.kubeconfig()));
    const { code, stdout, stderr } = await runCli('--kubeconfig', path, 'inventory');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'error: cannot reach the cluster at https://127.0.0.1:1 (connection refused): is it running, and is --context right?\n',
    );
  });
});
