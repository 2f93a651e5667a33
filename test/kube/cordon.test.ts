import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeOperationError } from '../../src/kube/api-failure.ts';
import { cordonNode, uncordonNode } from '../../src/kube/cordon.ts';
import { watchNodes } from '../../src/kube/node-watch.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { requestsServed } from './requests-served.ts';
import { patchFaults } from './sandbox-faults.ts';

describe('cordonNode / uncordonNode against the sandbox', () => {
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'pdb-deadlock', timeScale: 50 });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  async function nodeOf(name: string) {
    return sandbox.kubeConfig().makeApiClient(CoreV1Api).readNode({ name });
  }

  it('cordons once, reports an existing cordon, and uncordons idempotently', async () => {
    const kc = sandbox.kubeConfig();
    expect(await cordonNode(kc, 'general-1')).toEqual({ wasAlreadyCordoned: false });
    expect((await nodeOf('general-1')).spec?.unschedulable).toBe(true);
    expect(await cordonNode(kc, 'general-1')).toEqual({ wasAlreadyCordoned: true });

    expect(await uncordonNode(kc, 'general-1')).toEqual({ wasCordoned: true });
    expect((await nodeOf('general-1')).spec?.unschedulable).toBeUndefined();
    expect(await uncordonNode(kc, 'general-1')).toEqual({ wasCordoned: false });
  });

  it('with a node watch, cordons and uncordons with one patch each and no read', async () => {
    const kc = sandbox.kubeConfig();
    const clock = sandbox.box.ctx.clock;
    const watch = watchNodes(kc, clock);
    try {
      while (!watch.live) await clock.sleep(100);
      const reads = await requestsServed(sandbox, 'get', 'nodes');
      const patches = await requestsServed(sandbox, 'patch', 'nodes');
      expect(
        await cordonNode(kc, 'general-3', { watch, annotations: { 'midflight.dev/run': 'run-2' } }),
      ).toEqual({ wasAlreadyCordoned: false });
      while (!watch.get('general-3')?.spec?.unschedulable) await clock.sleep(100);
      expect(await uncordonNode(kc, 'general-3', { watch })).toEqual({ wasCordoned: true });
      // Note: each patch carries the watched resourceVersion: a node its kubelet changed in between makes that
      // patch a 409 Conflict, and only then is the node read (and patched again).
      const conflicts = (await requestsServed(sandbox, 'patch', 'nodes')) - patches - 2;
      expect(conflicts).toBeLessThanOrEqual(1);
      expect((await requestsServed(sandbox, 'get', 'nodes')) - reads).toBe(conflicts);
      const node = await nodeOf('general-3');
      expect(node.spec?.unschedulable).toBeUndefined();
      expect(node.metadata?.annotations?.['midflight.dev/run']).toBe('run-2');
    } finally {
      await watch.stop();
    }
  });

  it('stamps annotations in the same patch and removes them with null', async () => {
    const kc = sandbox.kubeConfig();
    await cordonNode(kc, 'general-2', {
      annotations: { 'midflight.dev/run': 'run-1', 'midflight.dev/step': 'drain' },
    });
    let node = await nodeOf('general-2');
    expect(node.spec?.unschedulable).toBe(true);
    expect(node.metadata?.annotations).toMatchObject({
      'midflight.dev/run': 'run-1',
      'midflight.dev/step': 'drain',
    });
    // Other annotations (and labels) are left alone.
    expect(node.metadata?.labels?.['midflight.dev/pool']).toBe('general');

    await uncordonNode(kc, 'general-2', { annotations: { 'midflight.dev/step': null } });
    node = await nodeOf('general-2');
    expect(node.spec?.unschedulable).toBeUndefined();
    expect(node.metadata?.annotations?.['midflight.dev/step']).toBeUndefined();
    expect(node.metadata?.annotations?.['midflight.dev/run']).toBe('run-1');
  });

  it('survives injected API errors', async () => {
    const kc = sandbox.kubeConfig();
    // The sandbox's clock times the backoff, so retries take cluster seconds, not wall seconds.
    const clock = sandbox.box.ctx.clock;
    await patchFaults(sandbox, { api: { errorRate: 0.4, code: 500 } });
    try {
      for (let i = 0; i < 5; i++) {
        await cordonNode(kc, 'general-3', { clock });
        await uncordonNode(kc, 'general-3', { clock });
      }
    } finally {
      await patchFaults(sandbox, { api: { errorRate: 0 } });
    }
    expect((await nodeOf('general-3')).spec?.unschedulable).toBeUndefined();
  });

  it('names the node and the operation when it fails', async () => {
    const error = await cordonNode(sandbox.kubeConfig(), 'no-such-node').catch((e) => e);
    expect(error).toBeInstanceOf(KubeOperationError);
    expect(error.message).toMatch(/^cordon node no-such-node: nodes "no-such-node" not found \(HTTP 404\)/);
    expect(error.retryable).toBe(false);
  });
});
