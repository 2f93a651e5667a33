import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersionOf, RESOURCES } from '../../../src/sandbox/api/resources.ts';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';

/**
 * The other side of refusing malformed objects: everything the sandbox serves (built by its scenario, written
 * by its kubelets and controllers) must be accepted when a client writes it back unchanged, as
 * `kubectl get -o json | kubectl replace -f -` does. A type check stricter than the sandbox's own objects
 * would break cordon, label and annotate on them.
 */

let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: 'demo', timeScale: 20 });
});
afterAll(() => sandbox?.stop());

const basePath = (info: (typeof RESOURCES)[number]) =>
  info.group ? `/apis/${apiVersionOf(info)}` : `/api/${info.version}`;

describe('writing back what the sandbox serves', () => {
  it.each(RESOURCES.map((info) => ({ resource: info.resource, group: info.group || 'core', info })))(
    'accepts every $resource ($group) replaced unchanged',
    async ({ info }) => {
      const list = await sandbox.request('GET', `${basePath(info)}/${info.resource}`);
      expect(list.status, list.body).toBe(200);
      const rejected: string[] = [];
      let accepted = 0;
      for (const item of list.json().items as Array<{ metadata: { name: string; namespace?: string } }>) {
        const { name, namespace } = item.metadata;
        const path = `${basePath(info)}/${namespace ? `namespaces/${namespace}/` : ''}${info.resource}/${name}`;
        let body: object = { apiVersion: apiVersionOf(info), kind: info.kind, ...item };
        let res = await sandbox.request('PUT', `${path}?dryRun=All`, { body });
        // A 409 only means the simulation changed the object since it was read (kubelets renew their Leases
        // every 10 s): read it again and retry, a few times, as a client would.
        for (let retry = 0; retry < 5 && res.status === 409; retry++) {
          const fresh = await sandbox.request('GET', path);
          if (fresh.status !== 200) break;
          body = { apiVersion: apiVersionOf(info), kind: info.kind, ...fresh.json() };
          res = await sandbox.request('PUT', `${path}?dryRun=All`, { body });
        }
        if (res.status === 200) accepted++;
        else if (res.status !== 409) rejected.push(`${namespace ?? ''}/${name}: ${res.body}`);
      }
      expect(rejected).toEqual([]);
      if (list.json().items.length > 0) expect(accepted).toBeGreaterThan(0);
    },
  );
});
