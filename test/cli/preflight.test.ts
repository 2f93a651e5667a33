import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/preflight/index.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { patchFaults } from '../kube/sandbox-faults.ts';
import { helmSecret, LEGACY_MANIFEST, OLD_APPLIED_PDB } from '../kube/snapshot-fixtures.ts';
import { closedPortKubeconfig, runCli } from './run-cli.ts';

describe('midflight preflight', () => {
  let sandbox: RunningSandbox;
  let dir: string;
  const preflight = (...args: string[]) =>
    runCli('--kubeconfig', sandbox.kubeconfigPath, 'preflight', ...args);

  beforeAll(async () => {
    sandbox = await startSandbox();
    for (const [path, body] of [
      ['/api/v1/namespaces/shop/secrets', helmSecret('legacy', 'shop', 2, LEGACY_MANIFEST)],
      ['/apis/policy/v1/namespaces/shop/poddisruptionbudgets', OLD_APPLIED_PDB],
    ] as const) {
      const res = await sandbox.request('POST', path, { body });
      expect(res.status, res.body).toBe(201);
    }
    dir = join(sandbox.kubeconfigPath, '..', 'inputs');
    mkdirSync(join(dir, 'manifests', 'nested'), { recursive: true });
    writeFileSync(
      join(dir, 'manifests', 'nested', 'app.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\n' +
        'apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata: {name: from-git}\n',
    );
    writeFileSync(join(dir, 'manifests', 'README.md'), 'not a manifest');
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: [unclosed\n');
    writeFileSync(
      join(dir, 'bad-policy.yaml'),
      'apiVersion: midflight.dev/v1alpha1\ndrain:\n  timeout: soon\n',
    );
    writeFileSync(join(dir, 'typo-skip.yaml'), 'preflight:\n  skip: [capacty]\n');
    writeFileSync(
      join(dir, 'permissive.yaml'),
      'apiVersion: midflight.dev/v1alpha1\nkind: UpgradePolicy\ndrain:\n  force: true\n  deleteEmptyDirData: true\n',
    );
  }, 120_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('blocks on an API the target removes, naming the object and the Helm release (exit 1)', async () => {
    const { code, stdout, stderr } = await preflight('--to', 'v1.32.2');
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(stdout).toMatch(/^Preflight for https:\/\/127\.0\.0\.1:\d+: v1\.30\.6 → v1\.32\.2$/m);
    const blockers = stdout.slice(stdout.indexOf('BLOCKERS'), stdout.indexOf('WARNINGS'));
    expect(blockers).toContain('[removed-api] PriorityLevelConfiguration shop/legacy-priority');
    expect(blockers).toContain(
      'Helm release shop/legacy (revision 2) uses flowcontrol.apiserver.k8s.io/v1beta3 PriorityLevelConfiguration',
    );
    expect(blockers).toContain('fix: use flowcontrol.apiserver.k8s.io/v1');
    expect(stdout).toMatch(/^\d+ blockers?, \d+ warnings?, \d+ info: the upgrade is blocked/m);
  });

  it('answers JSON with the findings, counts and exit code', async () => {
    const { code, stdout } = await preflight('--to', '1.32', '-o', 'json');
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { target: string; findings: Finding[]; exitCode: number };
    expect(report.target).toMatch(/^v1\.32\.\d+$/);
    expect(report.exitCode).toBe(1);
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        id: 'removed-api',
        severity: 'blocker',
        subject: { kind: 'PriorityLevelConfiguration', namespace: 'shop', name: 'legacy-priority' },
      }),
    );
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        id: 'removed-api',
        subject: { kind: 'PodDisruptionBudget', namespace: 'shop', name: 'old-applied' },
        message: expect.stringContaining('last-applied-configuration'),
      }),
    );
  });

  it('reads manifest directories recursively, multi-document', async () => {
    const { stdout } = await preflight('--to', '1.32', '--manifests', join(dir, 'manifests'), '-o', 'json');
    const findings = (JSON.parse(stdout) as { findings: Finding[] }).findings;
    const fromGit = findings.find((f) => f.subject.name === 'from-git');
    expect(fromGit).toMatchObject({
      id: 'removed-api',
      severity: 'blocker',
      subject: { kind: 'FlowSchema' },
    });
    expect(fromGit?.message).toContain(`manifest ${join(dir, 'manifests', 'nested', 'app.yaml')} uses`);
    expect(findings.some((f) => f.subject.name === 'fine')).toBe(false);
  });

  it('writes YAML without anchors', async () => {
    const { stdout } = await preflight('--to', '1.32', '-o', 'yaml');
    expect(stdout).toMatch(/^exitCode: 1$/m);
    expect(stdout).not.toMatch(/[&*]a\d/);
  });

  it('exits 0 when nothing blocks', async () => {
    const { code, stdout } = await preflight('--to', '1.31', '--policy', join(dir, 'permissive.yaml'));
    expect(stdout).toMatch(/^0 blockers, \d+ warnings?, \d+ info: nothing blocks the upgrade$/m);
    expect(code).toBe(0);
  });

  it.each([
    [['--to', 'v1.99.0'], /--to v1\.99\.0: unknown Kubernetes release/],
    [['--to', 'soon'], /--to "soon" is not a Kubernetes version/],
    [
      ['--to', '1.31', '--policy', 'bad-policy.yaml'],
      /invalid policy file .*bad-policy\.yaml:3:12: drain\.timeout: must be a duration/,
    ],
    [
      ['--to', '1.31', '--policy', 'typo-skip.yaml'],
      /invalid policy file .*typo-skip\.yaml:2:3: preflight\.skip: unknown check "capacty" \(known: .*capacity/,
    ],
    [['--to', '1.31', '--policy', 'missing.yaml'], /cannot read policy file .*missing\.yaml: ENOENT/],
    [['--to', '1.31', '--manifests', 'nowhere'], /--manifests .*nowhere: no such file or directory/],
    [
      ['--to', '1.31', '--manifests', 'broken.yaml'],
      /--manifests .*broken\.yaml:\d+:\d+: not valid YAML: [^\n]*[^:\n]$/m,
    ],
    [['--to', '1.31', '-o', 'markdown'], /unknown output format "markdown"/],
  ])('refuses %j with exit 2 and one line', async (args, message) => {
    const resolved = args.map((a) => (/\.yaml$|^nowhere$/.test(a) ? join(dir, a) : a));
    const { code, stdout, stderr } = await preflight(...resolved);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a missing --to is a usage error', async () => {
    const { code, stderr } = await preflight();
    expect(code).toBe(2);
    expect(stderr).toContain("required option '--to <version>' not specified");
  });

  it('an unreachable cluster: exit 1 and one line', async () => {
    const path = join(dir, 'closed.kubeconfig');
    writeFileSync(path, closedPortKubeconfig(sandbox.box.kubeconfig()));
    const { code, stderr } = await runCli('--kubeconfig', path, 'preflight', '--to', '1.31');
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^error: cannot reach the cluster at https:\/\/127\.0\.0\.1:1 \(connection refused\)/,
    );
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an API answering 500: retried, then one clear line and exit 1', async () => {
    await patchFaults(sandbox, { api: { errorRate: 1, code: 500 } });
    try {
      const { code, stdout, stderr } = await preflight('--to', '1.31');
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(
        /^error: the cluster at \S+ is failing while \w+ .*\(HTTP 500: .*\) after 4 attempts/,
      );
      expect(stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await patchFaults(sandbox, { api: { errorRate: 0 } });
    }
  });
});
