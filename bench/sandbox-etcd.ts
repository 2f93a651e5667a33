/**
 * The `large` scenario (5,000 nodes, 150,000 pods) kept in a real etcd (`sandbox start --etcd`), beside the
 * same scenario in memory: start-up (seeding an empty etcd; loading a full one), one full pod list over
 * HTTP, resident memory of the sandbox process, etcd's database size, and how the write-through keeps up
 * with the simulation while it idles (writes per second, writes still queued). Prints numbers; asserts
 * nothing: the machines this runs on are shared and their speed varies.
 *
 * Each variant runs in its own process, so one's heap does not count in the other's memory:
 *   memory   the in-memory store
 *   seed     an empty etcd: the cluster is built, then written in batched transactions
 *   load     the etcd the seed run left: every object read back at its mod_revision
 *
 * Usage: npx tsx bench/sandbox-etcd.ts [idle-seconds, default 20]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient, startEtcd } from '../src/etcd/index.ts';
import { Sandbox } from '../src/sandbox/sandbox.ts';

interface Measured {
  variant: string;
  startupMs: number;
  /** With etcd: from start-up until etcd held every write made so far. */
  flushMs?: number;
  objects: number;
  revision: number;
  rssMiB: number;
  listMs: number;
  listMiB: number;
  /** While idling: store writes the simulation made per second, and those etcd committed. */
  idleSimWritesPerSecond?: number;
  idleWritesPerSecond?: number;
  idleQueued?: number;
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** One full pod list, received and dropped: the server's part of `kubectl get pods -A`. */
function listPods(url: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) =>
    http
      .get(`${url}/api/v1/pods`, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ ms: performance.now() - started, bytes }));
        res.on('error', reject);
      })
      .on('error', reject),
  );
}

async function measure(variant: string, etcdUrl: string | undefined, idleSeconds: number): Promise<Measured> {
  const started = performance.now();
  const box = await Sandbox.start({
    scenario: 'large',
    port: 0,
    ...(etcdUrl ? { etcd: { endpoint: etcdUrl, timeoutMs: 60_000 } } : {}),
  });
  const startupMs = performance.now() - started;
  let flushMs: number | undefined;
  if (etcdUrl) {
    await box.flushStorage();
    flushMs = performance.now() - started - startupMs;
  }
  const rss = process.memoryUsage().rss;
  const list = await listPods(box.url);
  const result: Measured = {
    variant,
    startupMs,
    flushMs,
    objects: box.storage.objects,
    revision: box.storage.revision,
    rssMiB: mib(rss),
    listMs: list.ms,
    listMiB: mib(list.bytes),
  };
  if (etcdUrl && idleSeconds > 0) {
    const client = new EtcdClient({ endpoint: etcdUrl });
    const before = (await client.status()).revision;
    const storeBefore = box.ctx.store.resourceVersion;
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const after = (await client.status()).revision;
    result.idleSimWritesPerSecond = Math.round((box.ctx.store.resourceVersion - storeBefore) / idleSeconds);
    result.idleWritesPerSecond = Math.round((after - before) / idleSeconds);
    result.idleQueued = box.ctx.store.resourceVersion - after;
  }
  await box.stop();
  return result;
}

function runVariant(variant: string, etcdUrl: string, idleSeconds: number): Promise<Measured> {
  const args = [...process.execArgv, import.meta.filename, 'run', variant, etcdUrl, String(idleSeconds)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${variant}: exit ${code}\n${out}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

if (process.argv[2] === 'run') {
  const [variant, etcdUrl, idle] = process.argv.slice(3);
  const measured = await measure(variant!, variant === 'memory' ? undefined : etcdUrl, Number(idle));
  console.log(JSON.stringify(measured));
  process.exit(0);
}

const idleSeconds = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'midflight-bench-etcd-'));
// Note: a larger space quota than etcd's 2 GiB default: 150,000 pods plus their history while idling.
const etcd = await startEtcd({
  name: 'bench',
  dataDir: join(dir, 'etcd'),
  extraArgs: ['--quota-backend-bytes=8589934592'],
});
try {
  const results: Measured[] = [];
  for (const variant of ['memory', 'seed', 'load']) {
    results.push(await runVariant(variant, etcd.clientUrl, idleSeconds));
    const status = await etcd.client().status();
    console.error(`${variant} done; etcd at revision ${status.revision}, database ${mib(status.dbSize)} MiB`);
  }
  const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  console.log(
    `sandbox large scenario, in memory and on etcd (${etcd.clientUrl}; idle window ${idleSeconds} s)`,
  );
  console.log(
    'variant  start-up  etcd caught up  objects  revision  RSS      pod list (served)  idle writes/s (sim, etcd)  queued after idle',
  );
  for (const r of results)
    console.log(
      `${r.variant.padEnd(8)} ${s(r.startupMs).padStart(8)}  ${s(r.flushMs).padStart(14)}  ${String(r.objects).padStart(7)}  ${String(r.revision).padStart(8)}  ${`${r.rssMiB} MiB`.padStart(8)} ${`${s(r.listMs)}, ${r.listMiB} MiB`.padStart(18)}  ${`${r.idleSimWritesPerSecond ?? '-'}, ${r.idleWritesPerSecond ?? '-'}`.padStart(24)}  ${String(r.idleQueued ?? '-').padStart(17)}`,
    );
  const status = await etcd.client().status();
  console.log(`etcd database at the end: ${mib(status.dbSize)} MiB, revision ${status.revision}`);
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
