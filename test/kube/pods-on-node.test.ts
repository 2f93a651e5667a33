/**
 * A node's pods read with a PodListMemo, as admission reads the nodes at the head of a wave choice after
 * choice: what the API server answers, parsed once per change of the node's pods, however the answer is
 * laid out.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPodsOnNode, PodListMemo } from '../../src/kube/pods-on-node.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';

describe('listPodsOnNode with a memo, against the sandbox', () => {
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'pdb-deadlock', timeScale: 50 });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('gives what a plain read gives, the same objects while the pods stay as they were, and a change at once', async () => {
    const kc = sandbox.kubeConfig();
    const clock = sandbox.box.ctx.clock;
    const memo = new PodListMemo();
    const plain = () => listPodsOnNode(kc, clock, 'general-1');
    const first = await listPodsOnNode(kc, clock, 'general-1', memo);
    expect(first.items.length).toBeGreaterThan(0);
    expect(first.items).toEqual((await plain()).items);
    expect(first.metadata.resourceVersion).toMatch(/^\d+$/);

    const again = await listPodsOnNode(kc, clock, 'general-1', memo);
    expect(again.items).toEqual(first.items);
    for (const [i, pod] of again.items.entries()) expect(pod).toBe(first.items[i]);

    const pod = first.items[0]!;
    await sandbox
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .patchNamespacedPod(
        {
          name: pod.metadata.name,
          namespace: pod.metadata.namespace ?? 'default',
          body: { metadata: { labels: { changed: 'yes' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    const changed = await listPodsOnNode(kc, clock, 'general-1', memo);
    expect(changed.items.find((p) => p.metadata.name === pod.metadata.name)?.metadata.labels?.changed).toBe(
      'yes',
    );
    expect(changed.items).toEqual((await plain()).items);
  });
});

describe('PodListMemo.parse', () => {
  const pod = (name: string, extra: object = {}) => ({ metadata: { name, namespace: 'shop' }, ...extra });
  const pods = [pod('a'), pod('b')];
  // A pod whose own fields hold the text `"items":` (a ConfigMap volume's items).
  const withItems = pod('c', {
    spec: { volumes: [{ configMap: { name: 'cm', items: [{ key: 'k', path: 'p' }] } }] },
  });
  it.each([
    [
      'items last, as an API server writes them',
      { kind: 'PodList', metadata: { resourceVersion: '7' }, items: pods },
    ],
    ['items first, the metadata after them', { items: pods, metadata: { resourceVersion: '7' } }],
    ['a pod holding the text "items":', { metadata: { resourceVersion: '7' }, items: [withItems, ...pods] }],
    ['a first page of several', { metadata: { resourceVersion: '7', continue: 'abc' }, items: pods }],
    ['no pods', { metadata: { resourceVersion: '7' }, items: [] }],
  ])('parses a list with %s as JSON.parse does, twice', (_name, list) => {
    const memo = new PodListMemo();
    const body = JSON.stringify(list);
    expect(memo.parse('n', body)).toEqual(JSON.parse(body));
    expect(memo.parse('n', body)).toEqual(JSON.parse(body));
    expect(memo.parse('n', `${body}\n`)).toEqual(JSON.parse(body));
  });

  it('keeps the lists of its last nodes only, and a node read again counts as recent', () => {
    const memo = new PodListMemo(2);
    const body = (name: string) => JSON.stringify({ metadata: { resourceVersion: '1' }, items: [pod(name)] });
    const a = memo.parse('a', body('x')).items[0];
    const b = memo.parse('b', body('y')).items[0];
    expect(memo.parse('a', body('x')).items[0]).toBe(a);
    memo.parse('c', body('z'));
    // b was the least recently read: dropped and parsed again; a is still kept.
    expect(memo.parse('a', body('x')).items[0]).toBe(a);
    const bAgain = memo.parse('b', body('y')).items[0];
    expect(bAgain).toEqual(b);
    expect(bAgain).not.toBe(b);
  });
});
