import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CommandNodeProvider,
  type CreateNodesContext,
  matchesNewNodeRule,
  nodeProviderFromPolicy,
  ProviderError,
} from '../../src/providers/index.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { eventually, scenarioFromYaml } from '../sandbox/integration/integration-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'midflight-node-provider-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let calls = 0;

function callContext(overrides: Partial<CreateNodesContext> = {}) {
  const lines: string[] = [];
  return {
    lines,
    ctx: {
      pool: 'general',
      version: 'v1.31.4',
      count: 1,
      runId: 'run-1',
      labels: { 'upgrade.midflight.dev/run-id': 'run-1' },
      signal: new AbortController().signal,
      outputFile: join(dir, `call-${++calls}.log`),
      log: (line: string) => lines.push(line),
      ...overrides,
    },
  };
}

describe('nodeProviderFromPolicy', () => {
  const kc = new KubeConfig();
  it.each([
    [
      { kind: 'asg' },
      'nodeProvider.kind: unknown node provider "asg" (known: cluster-api, command, sandbox)',
    ],
    [
      { kind: 'cluster-api', newNodes: { namePattern: '{pool}-*' } },
      'nodeProvider.newNodes: unknown field for the cluster-api node provider (known: kind, joinTimeout, namespace, machineDeployment, infrastructureTemplate)',
    ],
    [
      { kind: 'cluster-api', machineDeployment: 'Workers_MD' },
      'nodeProvider.machineDeployment: must be a MachineDeployment name',
    ],
    [
      { kind: 'cluster-api', machineDeployment: { general: 7 } },
      'nodeProvider.machineDeployment.general: must be a MachineDeployment name',
    ],
    [{ kind: 'cluster-api', namespace: 'Capi' }, 'nodeProvider.namespace: must be a namespace name'],
    [
      { kind: 'cluster-api', infrastructureTemplate: '{pool}-{image}' },
      'nodeProvider.infrastructureTemplate: unknown placeholder {image} (known: {pool} {version} {machineDeployment})',
    ],
    [{ kind: 'sandbox', size: 3 }, 'nodeProvider.size: unknown field for the sandbox node provider'],
    [{ kind: 'sandbox', joinTimeout: 'soon' }, 'nodeProvider.joinTimeout: must be a duration'],
    [
      { kind: 'command', delete: 'rm {node}', newNodes: { namePattern: '{pool}-*' } },
      'nodeProvider.create: is required',
    ],
    [
      { kind: 'command', create: 'add {pool} {node}', delete: 'rm {node}', newNodes: { namePattern: '*' } },
      'nodeProvider.create: unknown placeholder {node} (known: {pool} {version} {count} {runId} {kubeconfig}',
    ],
    [{ kind: 'command', create: 'add {pool}', delete: 'rm {node}' }, 'nodeProvider.newNodes: is required'],
    [
      { kind: 'command', create: 'add', delete: 'rm', newNodes: { selector: 'a in (' } },
      'nodeProvider.newNodes.selector: is not a label selector',
    ],
    [{ kind: 'sandbox', newNodes: { label: 'x' } }, 'nodeProvider.newNodes.label: unknown field'],
  ])('refuses %j', (settings, message) => {
    expect(() => nodeProviderFromPolicy(settings, { kc })).toThrow(message);
  });

  it('builds the cluster-api provider from an empty kubeconfig, as apply checks a policy before it connects', () => {
    expect(nodeProviderFromPolicy({ kind: 'cluster-api' }, { kc })).toMatchObject({
      kind: 'cluster-api',
      joinTimeoutMs: 15 * 60_000,
    });
  });

  it('builds the command provider with its recognition rule and join timeout', () => {
    const provider = nodeProviderFromPolicy(
      {
        kind: 'command',
        create: 'add {pool} {version} {count}',
        delete: 'rm {node}',
        newNodes: { selector: 'pool={pool}' },
        joinTimeout: '5m',
      },
      { kc },
    );
    expect(provider).toMatchObject({
      kind: 'command',
      newNodes: { selector: 'pool={pool}' },
      joinTimeoutMs: 300_000,
    });
  });
});

describe('matchesNewNodeRule', () => {
  const node = { name: 'gke-prod-general-8f3a', labels: { 'cloud.google.com/gke-nodepool': 'general' } };
  it.each([
    [{ selector: 'cloud.google.com/gke-nodepool={pool}' }, true],
    [{ selector: 'cloud.google.com/gke-nodepool={pool}', namePattern: 'gke-*-{pool}-*' }, true],
    [{ namePattern: 'gke-*-{pool}' }, false],
    [{ selector: 'cloud.google.com/gke-nodepool=gpu' }, false],
    [{}, false],
  ])('%j → %s', (rule, expected) => {
    expect(matchesNewNodeRule(rule, 'general', node)).toBe(expected);
  });
});

describe('the command node provider', () => {
  it('runs the create and delete commands with their placeholders filled and quoted', async () => {
    const record = join(dir, 'record.txt');
    const provider = new CommandNodeProvider({
      create: `echo create {pool} {version} {count} {runId} >> ${record}`,
      delete: `echo delete {node} {pool} >> ${record}; echo gone`,
      newNodes: { namePattern: '{pool}-*' },
      joinTimeoutMs: 60_000,
      timeoutMs: 30_000,
    });
    const created = callContext({ count: 2 });
    expect(await provider.createNodes(created.ctx)).toEqual([]);
    const deleted = callContext();
    await provider.deleteNode({ ...deleted.ctx, node: "odd 'name'" });
    expect(readFileSync(record, 'utf8')).toBe("create general v1.31.4 2 run-1\ndelete odd 'name' general\n");
    expect(deleted.lines).toEqual([
      `$ echo delete 'odd '\\''name'\\''' general >> ${record}; echo gone`,
      'gone',
    ]);
  });

  it('fails with the command end and its last lines', async () => {
    const provider = new CommandNodeProvider({
      create: 'echo "quota exceeded for pool {pool}" >&2; exit 3',
      delete: 'true',
      newNodes: { namePattern: '*' },
      joinTimeoutMs: 60_000,
      timeoutMs: 30_000,
    });
    const error = await provider.createNodes(callContext().ctx).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).message).toBe(
      'the create of 1 node(s) in pool general command exited with status 3: quota exceeded for pool general',
    );
  });
});

describe('the sandbox node provider, over HTTP', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({
      scenario: scenarioFromYaml(`
name: node-provider
kubernetesVersion: v1.31.4
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 1, version: v1.30.8, capacity: { cpu: "8", memory: 32Gi } }]
timing: { nodeBootSeconds: 5 }
faults: { poolQuota: { general: 2 } }
`),
      timeScale: 20,
    });
  });
  afterAll(() => sandbox?.stop());

  it('creates labelled nodes, finds them again, deletes them (twice is fine), and stops at the quota', async () => {
    const provider = nodeProviderFromPolicy({ kind: 'sandbox' }, { kc: sandbox.kubeConfig() });
    const { ctx } = callContext();
    const names = await provider.createNodes(ctx);
    expect(names).toEqual(['general-2']);
    expect(await provider.findCreated?.('general', ctx.labels)).toEqual(['general-2']);
    expect(await provider.findCreated?.('general', { 'upgrade.midflight.dev/run-id': 'other' })).toEqual([]);
    const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
    const node = await eventually(
      async () => (await core.listNode({ labelSelector: 'upgrade.midflight.dev/run-id=run-1' })).items[0],
      'the new node to register',
      30_000,
    );
    expect(
      matchesNewNodeRule(provider.newNodes, 'general', {
        name: node.metadata!.name!,
        labels: node.metadata!.labels!,
      }),
    ).toBe(true);

    const quota = await provider.createNodes(callContext().ctx).catch((err: unknown) => err);
    expect(quota).toBeInstanceOf(ProviderError);
    expect((quota as ProviderError).message).toBe(
      'the sandbox refused to create 1 node(s) in pool general: quota exceeded: pool general holds 2 node(s) and its quota is 2, so 1 more cannot be created',
    );
    expect((quota as ProviderError).failureClass).toBe('permanent');

    await provider.deleteNode({ ...callContext().ctx, node: 'general-2' });
    await provider.deleteNode({ ...callContext().ctx, node: 'general-2' });
    expect(
      (await core.listNode({ labelSelector: 'midflight.dev/pool=general' })).items.map(
        (n) => n.metadata?.name,
      ),
    ).toEqual(['general-1']);
    const refused = await provider
      .deleteNode({ ...callContext().ctx, node: 'cp-1' })
      .catch((err: unknown) => err);
    expect((refused as Error).message).toContain('cp-1 is a control-plane node');
  });
});
