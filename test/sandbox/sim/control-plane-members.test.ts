/**
 * The control-plane members are answered from a cache kept current by node changes: a node that gains or
 * loses the control-plane label, joins or goes, changes the answer at once.
 */
import { expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import { CONTROL_PLANE_LABEL } from '../../../src/sandbox/scenario/node-object.ts';
import { controlPlaneMembers } from '../../../src/sandbox/sim/control-plane-members.ts';
import { makeNode, testContext } from './context.ts';

it('follows the control-plane label as nodes join, are relabelled and go', () => {
  const { store } = testContext();
  const member = { [CONTROL_PLANE_LABEL]: '' };
  store.create(R.nodes, makeNode('cp-b', { labels: member }));
  store.create(R.nodes, makeNode('worker-1'));
  store.create(R.nodes, makeNode('cp-a', { labels: member }));
  expect(controlPlaneMembers(store)).toEqual(['cp-a', 'cp-b']);

  store.create(R.nodes, makeNode('cp-c', { labels: member }));
  expect(controlPlaneMembers(store)).toEqual(['cp-a', 'cp-b', 'cp-c']);

  // A heartbeat changes nothing; a label does.
  store.mutate(R.nodes, undefined, 'worker-1', (n) => {
    n.status = { ...n.status, conditions: [] };
  });
  expect(controlPlaneMembers(store)).toEqual(['cp-a', 'cp-b', 'cp-c']);
  store.mutate(R.nodes, undefined, 'worker-1', (n) => {
    n.metadata.labels = { ...n.metadata.labels, ...member };
  });
  store.mutate(R.nodes, undefined, 'cp-b', (n) => {
    n.metadata.labels = { 'kubernetes.io/hostname': 'cp-b' };
  });
  expect(controlPlaneMembers(store)).toEqual(['cp-a', 'cp-c', 'worker-1']);

  store.remove(R.nodes, undefined, 'cp-a');
  expect(controlPlaneMembers(store)).toEqual(['cp-c', 'worker-1']);
});
