import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRaw } from '../../src/kube/client.ts';

const BIN = join(import.meta.dirname, '../../bin/midflight.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `midflight ARGS…` as a user does, in a child process, and collects what it printed. */
function midflight(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { timeout: 60_000, env: { ...process.env, KUBECONFIG: '' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'midflight-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.concurrent('midflight sandbox, without a running sandbox', () => {
  it('lists the built-in scenarios as a table', async () => {
    const { code, stdout } = await midflight('sandbox', 'scenarios');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+DESCRIPTION$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([
      'demo',
      'large',
      'pdb-deadlock',
      'pdb-heavy',
      'regression',
    ]);
  });

  it('lists the built-in scenarios as JSON', async () => {
    const { code, stdout } = await midflight('sandbox', 'scenarios', '-o', 'json');
    expect(code).toBe(0);
    const scenarios = JSON.parse(stdout) as { name: string; description: string }[];
    expect(scenarios.map((s) => s.name)).toEqual([
      'demo',
      'large',
      'pdb-deadlock',
      'pdb-heavy',
      'regression',
    ]);
    expect(scenarios.every((s) => s.description.length > 0)).toBe(true);
  });

  it('refuses an unknown scenario name, listing the built-ins', async () => {
    const { code, stderr } = await midflight(
      'sandbox',
      'start',
      '--scenario',
      'nope',
      '--kubeconfig-out',
      join(dir, 'x'),
    );
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'error: no built-in scenario "nope"; built-ins: demo, large, pdb-deadlock, pdb-heavy, regression (or give a path to a .yaml file)',
    );
  });

  it('refuses an invalid scenario file, naming the file, the field and the line', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'name: bad\nkubernetesVersion: v1.31.2\nnodePools:\n  - name: general\n    count: many\n    capacity: { cpu: "4", memory: 1Gi }\n',
    );
    const { code, stderr } = await midflight(
      'sandbox',
      'start',
      '--scenario',
      file,
      '--kubeconfig-out',
      join(dir, 'y'),
    );
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:5:12: nodePools[0].count: expected a whole number, got "many"`);
  });

  it.each([
    [['--help'], /Usage: midflight \[options\] \[command\][\s\S]*sandbox/],
    [
      ['sandbox', 'start', '--help'],
      /--scenario <name\|file>[\s\S]*--time-scale <x>[\s\S]*--insecure[\s\S]*Examples:/,
    ],
    [
      ['sandbox', 'upgrade-node', '--help'],
      /Usage: midflight sandbox upgrade-node \[options\] <node>[\s\S]*--to <version>/,
    ],
  ])('prints help for %j', async (args, pattern) => {
    const { code, stdout } = await midflight(...args);
    expect(code).toBe(0);
    expect(stdout).toMatch(pattern);
  });
});

describe('midflight sandbox start', () => {
  let child: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  const kubeconfigPath = () => join(dir, 'sandbox.kubeconfig');

  beforeAll(async () => {
    child = spawn(
      process.execPath,
      [
        BIN,
        'sandbox',
        'start',
        '--scenario',
        'demo',
        '--port',
        '0',
        '--kubeconfig-out',
        kubeconfigPath(),
        '--time-scale',
        '20',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!output.includes('Press Ctrl-C to stop.')) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`the sandbox did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints where it serves and where the kubeconfig is, an HTTPS one with a token', () => {
    expect(output).toMatch(
      /^Sandbox cluster "demo" \(Kubernetes v1\.30\.6\) is serving at https:\/\/127\.0\.0\.1:\d+$/m,
    );
    expect(output).toContain(`Kubeconfig: ${kubeconfigPath()}\n`);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath());
    const url = /serving at (\S+)/.exec(output)![1];
    expect(kc.getCurrentCluster()?.server).toBe(url);
    expect(kc.getCurrentUser()?.token).toMatch(/^[\w-]{20,}$/);
  });

  it('serves kubectl and client-node with that kubeconfig', async () => {
    const kubectl = await new Promise<Run>((resolve) =>
      execFile(
        'kubectl',
        ['--kubeconfig', kubeconfigPath(), 'get', 'nodes', '--no-headers'],
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(kubectl.code, kubectl.stderr).toBe(0);
    expect(kubectl.stdout.trim().split('\n')).toHaveLength(10);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath());
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'shop' });
    expect(pods.items.length).toBeGreaterThan(0);
  });

  it('refuses an upgrade against the skew policy with exit 1 and the reason', async () => {
    const { code, stderr } = await midflight(
      'sandbox',
      'upgrade-node',
      'compute-1',
      '--to',
      'v1.2.3',
      '--kubeconfig',
      kubeconfigPath(),
    );
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      'error: the sandbox refused to upgrade node compute-1 to v1.2.3: refusing to downgrade node compute-1 from v1.29.10 to v1.2.3: kubeadm does not downgrade; a node goes back only as a rollback, to the version it ran before its last upgrade (none: compute-1 was not upgraded here)',
    );
  });

  it('rejects a malformed version before asking the sandbox', async () => {
    const { code, stderr } = await midflight(
      'sandbox',
      'upgrade-node',
      'compute-1',
      '--to',
      'latest',
      '--kubeconfig',
      kubeconfigPath(),
    );
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('error: --to "latest" is not a version like v1.31.2');
  });

  it('upgrades a node and exits 0 once it is back', async () => {
    const { code, stdout, stderr } = await midflight(
      'sandbox',
      'upgrade-node',
      'compute-1',
      '--to',
      'v1.30.6',
      '--kubeconfig',
      kubeconfigPath(),
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('node/compute-1 upgraded to v1.30.6\n');
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath());
    const node = await kc.makeApiClient(CoreV1Api).readNode({ name: 'compute-1' });
    expect(node.status?.nodeInfo?.kubeletVersion).toBe('v1.30.6');
  });

  it('refuses to take a node below the version it ran before its upgrade, and rolls it back to that one', async () => {
    const upgradeNode = (version: string) =>
      midflight('sandbox', 'upgrade-node', 'compute-1', '--to', version, '--kubeconfig', kubeconfigPath());
    const below = await upgradeNode('v1.29.9');
    expect(below.code).toBe(1);
    expect(below.stderr.trim()).toBe(
      'error: the sandbox refused to upgrade node compute-1 to v1.29.9: refusing to downgrade node compute-1 from v1.30.6 to v1.29.9: kubeadm does not downgrade; a node goes back only as a rollback, to the version it ran before its last upgrade (v1.29.10)',
    );
    const rollback = await upgradeNode('v1.29.10');
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toBe('node/compute-1 upgraded to v1.29.10\n');
  });

  it('exits 1 with the reason when the upgrade itself fails', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath());
    const fault = await requestRaw(kc, 'PATCH', '/sandbox/v1/faults', {
      body: { upgradeFailures: { 'compute-2': 1 } },
    });
    expect(fault.status).toBe(200);
    const { code, stderr } = await midflight(
      'sandbox',
      'upgrade-node',
      'compute-2',
      '--to',
      'v1.30.6',
      '--kubeconfig',
      kubeconfigPath(),
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: the upgrade failed for node compute-2 to v1.30.6: /);
  });

  it('stops on SIGTERM and exits 0', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('Stopping the sandbox');
    expect(readFileSync(kubeconfigPath(), 'utf8')).toContain('token:');
  });
});
