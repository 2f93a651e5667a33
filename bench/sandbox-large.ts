/**
 * Starts the `large` scenario (5,000 nodes, 150,000 pods) and prints start-up time, resident memory and
 * how long it takes to list every node and every pod over HTTP, both in one request and in kubectl's
 * pages of 500. Targets (issue 2): under 2 GiB, a full pod list under 5 s on a 2-core machine.
 */
import { Sandbox } from '../src/sandbox/sandbox.ts';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timedList(
  url: string,
  path: string,
  pageSize?: number,
): Promise<{ ms: number; items: number }> {
  const started = performance.now();
  let items = 0;
  let cont: string | undefined;
  do {
    const query = new URLSearchParams();
    if (pageSize) query.set('limit', String(pageSize));
    if (cont) query.set('continue', cont);
    const res = await fetch(`${url}${path}?${query}`);
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    const list = (await res.json()) as { items: unknown[]; metadata: { continue?: string } };
    items += list.items.length;
    cont = list.metadata.continue || undefined;
  } while (cont);
  return { ms: performance.now() - started, items };
}

const started = performance.now();
const box = await Sandbox.start({ scenario: 'large', port: 0 });
const startupMs = performance.now() - started;
global.gc?.();
const rss = process.memoryUsage().rss;

const nodes = await timedList(box.url, '/api/v1/nodes');
const podsWhole = await timedList(box.url, '/api/v1/pods');
const podsPaged = await timedList(box.url, '/api/v1/pods', 500);
const rssAfter = process.memoryUsage().rss;
await box.stop();

console.log('sandbox large scenario');
console.log(`  start-up                 ${seconds(startupMs)}`);
console.log(
  `  resident memory          ${mib(rss)} after start-up, ${mib(rssAfter)} after the lists (target < 2048 MiB)`,
);
console.log(`  list nodes               ${seconds(nodes.ms)} for ${nodes.items} nodes`);
console.log(`  list pods, one request   ${seconds(podsWhole.ms)} for ${podsWhole.items} pods (target < 5 s)`);
console.log(`  list pods, pages of 500  ${seconds(podsPaged.ms)} for ${podsPaged.items} pods`);
