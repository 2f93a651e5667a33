/**
 * Starts the `large` scenario (5,000 nodes, 150,000 pods) and prints start-up time, resident memory, how
 * quiet the cluster is once started (CPU and event-loop delay over an idle window, and how fast a small GET
 * is answered meanwhile) and how long it takes to list every node and every pod over HTTP, both in one
 * request and in kubectl's pages of 500. Targets (issue 2): under 2 GiB, a full pod list under 5 s on a
 * 2-core machine, low idle CPU.
 *
 * The lists are read by a separate client process, as kubectl would. "Served" is the server's part: the
 * whole 390 MiB received and dropped. "Parsed" adds a Node client's own work, turning it into objects
 * (JSON.parse alone takes 2–5 s of it here); kubectl takes far longer still (`kubectl get pods -A` about a
 * minute, `-o json` over two, nearly all of it in kubectl).
 *
 * Usage: npx tsx bench/sandbox-large.ts [idle-seconds, default 30]
 */
import { execFile } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Sandbox } from '../src/sandbox/sandbox.ts';

const idleSeconds = Number(process.argv[2] ?? 30);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * The client: lists `path` over node:http (following `continue` when paged) and prints {ms, items, bytes}.
 * With `parse` it reads each response into one string and JSON.parse()s it, as a Node client would;
 * without, it counts the bytes and drops them, as `curl -o /dev/null` does: the time the server takes.
 */
const CLIENT = `
import http from 'node:http';
const [url, path, pageSize, parse] = process.argv.slice(1);
const get = (target) =>
  new Promise((resolve, reject) =>
    http.get(target, (res) => {
      if (res.statusCode !== 200) reject(new Error(path + ': HTTP ' + res.statusCode));
      const chunks = [];
      let bytes = 0;
      res.on('data', (c) => { bytes += c.length; if (parse) chunks.push(c); });
      res.on('end', () => resolve({ bytes, body: parse ? Buffer.concat(chunks).toString() : '' }));
      res.on('error', reject);
    }).on('error', reject));
const started = performance.now();
let items = 0;
let bytes = 0;
let cont;
do {
  const query = new URLSearchParams();
  if (pageSize !== '0') query.set('limit', pageSize);
  if (cont) query.set('continue', cont);
  const page = await get(url + path + '?' + query);
  bytes += page.bytes;
  if (!parse) break;
  const list = JSON.parse(page.body);
  items += list.items.length;
  cont = list.metadata.continue || undefined;
} while (cont);
console.log(JSON.stringify({ ms: performance.now() - started, items, bytes }));
`;

interface Listed {
  ms: number;
  items: number;
  bytes: number;
}

function timedList(url: string, path: string, how: { pageSize?: number; parse: boolean }): Promise<Listed> {
  const args = ['--input-type=module', '-e', CLIENT, url, path, String(how.pageSize ?? 0)];
  if (how.parse) args.push('parse');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path}: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

/** Round-trip times of a small GET, every 200 ms, while the sandbox idles. */
async function idleWindow(
  url: string,
  ms: number,
): Promise<{ cpuMs: number; lagMaxMs: number; lagP99Ms: number; getMaxMs: number }> {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpuBefore = process.cpuUsage();
  const until = performance.now() + ms;
  let getMaxMs = 0;
  while (performance.now() < until) {
    const t = performance.now();
    await (await fetch(`${url}/api/v1/namespaces/default`)).text();
    getMaxMs = Math.max(getMaxMs, performance.now() - t);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const cpu = process.cpuUsage(cpuBefore);
  lag.disable();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    lagMaxMs: lag.max / 1e6,
    lagP99Ms: lag.percentile(99) / 1e6,
    getMaxMs,
  };
}

const started = performance.now();
const box = await Sandbox.start({ scenario: 'large', port: 0 });
const startupMs = performance.now() - started;
global.gc?.();
const rss = process.memoryUsage().rss;

const idle = await idleWindow(box.url, idleSeconds * 1000);
const rssIdle = process.memoryUsage().rss;

const nodes = await timedList(box.url, '/api/v1/nodes', { parse: true });
const served = await timedList(box.url, '/api/v1/pods', { parse: false });
const servedAgain = await timedList(box.url, '/api/v1/pods', { parse: false });
const podsPaged = await timedList(box.url, '/api/v1/pods', { pageSize: 500, parse: true });
const podsWhole = await timedList(box.url, '/api/v1/pods', { parse: true });
const rssAfter = process.memoryUsage().rss;
const pods = box.ctx.store.count('pods');
await box.stop();

console.log('sandbox large scenario');
console.log(`  start-up                 ${seconds(startupMs)}`);
console.log(
  `  resident memory          ${mib(rss)} after start-up, ${mib(rssIdle)} after idling, ${mib(rssAfter)} after the lists (target < 2048 MiB)`,
);
console.log(
  `  first ${idleSeconds} s after start   CPU ${seconds(idle.cpuMs)} (${((100 * idle.cpuMs) / (idleSeconds * 1000)).toFixed(1)}% of a core), event-loop delay max ${idle.lagMaxMs.toFixed(0)} ms / p99 ${idle.lagP99Ms.toFixed(0)} ms, slowest GET ${idle.getMaxMs.toFixed(0)} ms`,
);
console.log(`  pods at the end          ${pods} (150000 expected: nothing recreated)`);
console.log(`  list nodes               ${seconds(nodes.ms)} for ${nodes.items} nodes, parsed`);
console.log(
  `  list pods, served        ${seconds(served.ms)}, then ${seconds(servedAgain.ms)}: ${mib(served.bytes)} in one request, received and dropped (target < 5 s)`,
);
console.log(
  `  list pods, parsed        ${seconds(podsPaged.ms)} in pages of 500 (as kubectl asks), ${seconds(podsWhole.ms)} in one request, for ${podsPaged.items} pods`,
);
