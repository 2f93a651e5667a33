/**
 * One taint added or removed without touching the others, against the sandbox: the list is written back
 * under the resourceVersion read, so a taint someone else added since (a stale read) survives the retry.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Taint } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uncordonNode } from '../../src/kube/cordon.ts';
import { addNodeTaint, listNodeTaints, removeNodeTaint } from '../../src/kube/node-taints.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { requestsServed } from './requests-served.ts';

const PENDING = { key: 'upgrade.midflight.dev/upgrade-pending', value: 'run-1', effect: 'PreferNoSchedule' };
const OTHER = { key: 'example.com/gpu', value: 'yes', effect: 'NoSchedule' };

describe('addNodeTaint / removeNodeTaint against the sandbox', () => {
  let sandbox: RunningSandbox;
  let core: CoreV1Api;

  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'pdb-deadlock', timeScale: 50 });
    core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  const clock = () => sandbox.box.ctx.clock;
  const taintsOf = async (name: string) => (await core.readNode({ name })).spec?.taints ?? [];
  const setTaints = (name: string, taints: V1Taint[]) =>
    core.patchNode(
      { name, body: { spec: { taints } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

  it('adds and removes one taint, keeps the others, and writes nothing when already as asked', async () => {
    const kc = sandbox.kubeConfig();
    await setTaints('general-1', [OTHER]);
    expect(await addNodeTaint(kc, 'general-1', PENDING, { clock: clock() })).toBe(true);
    expect(await taintsOf('general-1')).toEqual([OTHER, PENDING]);
    // Counted as writes served, not by the node's resourceVersion: its kubelet's heartbeats move that.
    const writes = async () =>
      (await requestsServed(sandbox, 'patch', 'nodes')) + (await requestsServed(sandbox, 'update', 'nodes'));
    const before = await writes();
    expect(await addNodeTaint(kc, 'general-1', PENDING, { clock: clock() })).toBe(false);
    expect(await writes()).toBe(before);

    // Another run's value is replaced, not doubled: one taint per key and effect.
    expect(await addNodeTaint(kc, 'general-1', { ...PENDING, value: 'run-2' }, { clock: clock() })).toBe(
      true,
    );
    expect(await taintsOf('general-1')).toEqual([OTHER, { ...PENDING, value: 'run-2' }]);

    expect(await removeNodeTaint(kc, 'general-1', PENDING, { clock: clock() })).toBe(true);
    expect(await taintsOf('general-1')).toEqual([OTHER]);
    expect(await removeNodeTaint(kc, 'general-1', PENDING, { clock: clock() })).toBe(false);
    expect(await removeNodeTaint(kc, 'no-such-node', PENDING, { clock: clock() })).toBe(false);
  });

  it('redoes the edit on a fresh read when the node changed since it was listed (409), keeping that change', async () => {
    const kc = sandbox.kubeConfig();
    await setTaints('general-2', []);
    const listed = (await listNodeTaints(kc, clock())).find((n) => n.name === 'general-2')!;
    // Someone taints the node after the list: the listed resourceVersion is stale.
    await setTaints('general-2', [OTHER]);
    expect(await addNodeTaint(kc, 'general-2', PENDING, { clock: clock(), known: listed })).toBe(true);
    expect(await taintsOf('general-2')).toEqual([OTHER, PENDING]);
  });

  it('uncordons and takes the taint off in one patch, keeping the other taints', async () => {
    const kc = sandbox.kubeConfig();
    await setTaints('general-3', [PENDING, OTHER]);
    await core.patchNode(
      { name: 'general-3', body: { spec: { unschedulable: true } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(await uncordonNode(kc, 'general-3', { clock: clock(), removeTaint: PENDING })).toEqual({
      wasCordoned: true,
    });
    const node = await core.readNode({ name: 'general-3' });
    expect(node.spec?.unschedulable).toBeUndefined();
    expect((node.spec?.taints ?? []).filter((t) => t.key !== 'node.kubernetes.io/unschedulable')).toEqual([
      OTHER,
    ]);
  });
});
