/**
 * What TLS costs per request on loopback, client and server in one process as in a rehearsal
 * (src/rehearse): the CPU of one request over a kept-alive HTTPS connection against the same over plain
 * HTTP, for the requests a rehearsal makes most (a node's GET while it rejoins, a node's pods as plain JSON
 * for admission and drains). Each transport is measured twice, alternately, so a change in the machine's
 * load shows as a spread rather than as a difference.
 *
 * Usage: npx tsx bench/tls-cost.ts [requests per measure, default 2000]
 */
import { KubeConfig } from '@kubernetes/client-node';
import { VirtualClock } from '../src/core/index.ts';
import { requestRaw } from '../src/kube/client.ts';
import { shareConnections } from '../src/kube/index.ts';
import { Sandbox } from '../src/sandbox/sandbox.ts';
import { parseScenario } from '../src/sandbox/scenario/parse-scenario.ts';
import { generatedScenarioYaml } from './harness/generated-scenario.ts';

const requests = Number(process.argv[2] ?? 2000);
if (!Number.isInteger(requests) || requests < 1) {
  console.error('usage: npx tsx bench/tls-cost.ts [requests per measure]');
  process.exit(2);
}

async function measure(tls: boolean): Promise<string> {
  const clock = new VirtualClock(Date.now());
  const box = await Sandbox.start({
    scenario: parseScenario(generatedScenarioYaml(10), 'bench.yaml'),
    clock,
    tls,
    token: 'bench',
  });
  try {
    const kc = shareConnections(new KubeConfig());
    kc.loadFromString(box.kubeconfig());
    const node = box.firstWorkerName() ?? '';
    const paths = {
      'GET node': `/api/v1/nodes/${node}`,
      "node's pods": `/api/v1/pods?fieldSelector=spec.nodeName%3D${node}`,
    };
    const cells: string[] = [];
    for (const [what, path] of Object.entries(paths)) {
      // Warm up: the connection, and the JIT on both ends.
      for (let i = 0; i < 200; i++) await requestRaw(kc, 'GET', path);
      const before = process.cpuUsage();
      for (let i = 0; i < requests; i++) await requestRaw(kc, 'GET', path);
      const used = process.cpuUsage(before);
      cells.push(`${what} ${((used.user + used.system) / 1000 / requests).toFixed(3)} ms`);
    }
    return `${tls ? 'https' : 'http '} | CPU per request: ${cells.join(' | ')}`;
  } finally {
    await box.stop();
  }
}

for (const tls of [true, false, true, false]) console.log(await measure(tls));
