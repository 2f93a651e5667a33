/**
 * What the sandbox API server costs per request and per watch event, client and server in one process over
 * kept-alive plain HTTP, as in a rehearsal (src/rehearse): the CPU of one request of each kind a rehearsal
 * makes most (a node's GET, a node's pods listed by field selector, a node's label patch, an Event created),
 * and what a watch on nodes adds to each node patch (one watch event: rendered, written, parsed by
 * client-node's Watch). Each kind is measured in rounds, alternately, so a change in the machine's load shows
 * as a spread rather than as a difference; the lowest round is printed.
 *
 * Usage: npx tsx bench/api-request-cost.ts [requests per round, default 2000] [rounds, default 3]
 */
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { VirtualClock } from '../src/core/index.ts';
import { requestRaw } from '../src/kube/client.ts';
import { shareConnections } from '../src/kube/index.ts';
import { Sandbox } from '../src/sandbox/sandbox.ts';
import { parseScenario } from '../src/sandbox/scenario/parse-scenario.ts';
import { generatedScenarioYaml } from './harness/generated-scenario.ts';

const requests = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(rounds) || rounds < 1) {
  console.error('usage: npx tsx bench/api-request-cost.ts [requests per round] [rounds]');
  process.exit(2);
}

const clock = new VirtualClock(Date.now());
const box = await Sandbox.start({
  scenario: parseScenario(generatedScenarioYaml(10), 'bench.yaml'),
  clock,
  tls: false,
  token: 'bench',
});
const kc = shareConnections(new KubeConfig());
kc.loadFromString(box.kubeconfig());
const node = box.firstWorkerName() ?? '';
let n = 0;
const patchNode = () =>
  requestRaw(kc, 'PATCH', `/api/v1/nodes/${node}`, {
    body: { metadata: { labels: { bench: String(n++) } } },
    contentType: 'application/strategic-merge-patch+json',
  });
const kinds: Record<string, () => Promise<unknown>> = {
  'GET node': () => requestRaw(kc, 'GET', `/api/v1/nodes/${node}`),
  "node's pods": () => requestRaw(kc, 'GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${node}&limit=500`),
  'PATCH node': patchNode,
  'POST event': () =>
    requestRaw(kc, 'POST', '/api/v1/namespaces/default/events', {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: 'bench-' },
        involvedObject: { kind: 'Node', name: node, apiVersion: 'v1' },
        reason: 'Bench',
        message: 'a bench event',
        type: 'Normal',
      },
    }),
};

async function cpuPer(run: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < requests; i++) await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / requests;
}

/** CPU of a node patch while a watch on nodes is open: the patch plus one watch event. */
async function patchWatched(): Promise<number> {
  let seen = 0;
  const watch = await new Watch(kc).watch(
    '/api/v1/nodes',
    {},
    () => {
      seen += 1;
    },
    () => {},
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  seen = 0;
  const cost = await cpuPer(patchNode);
  while (seen < requests) await new Promise((resolve) => setTimeout(resolve, 5));
  watch.abort();
  return cost;
}

try {
  for (const run of Object.values(kinds)) for (let i = 0; i < 200; i++) await run();
  const best = new Map<string, number>();
  const keep = (what: string, ms: number) => best.set(what, Math.min(best.get(what) ?? ms, ms));
  for (let round = 0; round < rounds; round++) {
    for (const [what, run] of Object.entries(kinds)) keep(what, await cpuPer(run));
    keep('PATCH node, watched', await patchWatched());
  }
  const watched = best.get('PATCH node, watched')! - best.get('PATCH node')!;
  console.log(
    `CPU per request (ms, best of ${rounds}×${requests}): ${[...best].map(([k, v]) => `${k} ${v.toFixed(3)}`).join(' | ')} | watch event ≈ ${watched.toFixed(3)}`,
  );
} finally {
  await box.stop();
}
