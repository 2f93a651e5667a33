import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { ObjectStore } from '../../src/sandbox/store/object-store.ts';
import type { KubeObject } from '../../src/sandbox/store/types.ts';

function configMap(name: string, value: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'app' }, data: { value } };
}

describe('ObjectStore.json', () => {
  it('renders a stored object once, and again only after it is replaced', () => {
    const store = new ObjectStore(new VirtualClock(0));
    let renders = 0;
    const render = (obj: KubeObject) => {
      renders++;
      return JSON.stringify(obj);
    };
    const v1 = store.create('configmaps', configMap('a', 'one'));
    expect(store.json('configmaps', v1, render)).toBe(JSON.stringify(v1));
    expect(store.json('configmaps', v1, render)).toBe(JSON.stringify(v1));
    expect(renders).toBe(1);

    const v2 = store.mutate('configmaps', 'app', 'a', (d) => {
      d.data = { value: 'two' };
    })!;
    expect(store.json('configmaps', v2, render)).toBe(JSON.stringify(v2));
    expect(renders).toBe(2);
    // An object no longer stored (as watch history holds) is rendered, never kept.
    expect(store.json('configmaps', v1, render)).toBe(JSON.stringify(v1));
    expect(store.json('configmaps', v1, render)).toBe(JSON.stringify(v1));
    expect(renders).toBe(4);
    expect(store.json('configmaps', v2, render)).toBe(JSON.stringify(v2));
    expect(renders).toBe(4);

    const deleted = store.remove('configmaps', 'app', 'a')!;
    expect(store.json('configmaps', deleted, render)).toBe(JSON.stringify(deleted));
    const again = store.create('configmaps', configMap('a', 'three'));
    expect(store.json('configmaps', again, render)).toContain('"three"');
  });

  it('keeps no more JSON than its budget, and still renders past it', () => {
    // Room for one text and a half: every object's JSON is the same length.
    const probe = new ObjectStore(new VirtualClock(0));
    const one = JSON.stringify(probe.create('configmaps', configMap('a', 'v'.repeat(100)))).length;
    const store = new ObjectStore(new VirtualClock(0), { jsonCacheChars: Math.floor(one * 1.5) });
    let renders = 0;
    const render = (obj: KubeObject) => {
      renders++;
      return JSON.stringify(obj);
    };
    const objs = ['a', 'b', 'c', 'd'].map((n) => store.create('configmaps', configMap(n, 'v'.repeat(100))));
    for (const o of objs) store.json('configmaps', o, render);
    for (const o of objs) expect(store.json('configmaps', o, render)).toBe(JSON.stringify(o));
    // Only the first text fits the budget.
    expect(renders).toBe(7);
    // Replacing the kept object frees its room for another.
    store.remove('configmaps', 'app', 'a');
    store.json('configmaps', objs[1]!, render);
    store.json('configmaps', objs[1]!, render);
    expect(renders).toBe(8);
  });
});
