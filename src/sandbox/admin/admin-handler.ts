import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, parseYamlSource, VirtualClock } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { SandboxContext } from '../context.ts';
import { applyFaults, faultSetFromSpec, faultSpecOf, readFaults } from '../scenario/faults-spec.ts';
import { formatIssue, YamlChecker } from '../scenario/yaml-checker.ts';
import type { ControlPlane } from '../sim/control-plane.ts';
import { type MachineRequest, type NodeProvisioner, ProvisionError } from '../sim/node-provisioner.ts';
import { type NodeUpgrader, UpgradeRefusedError } from '../sim/node-upgrade.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { EtcdPersistenceStatus } from '../store/etcd-persistence.ts';
import { drillStoreSnapshot, storeSnapshotOf } from './store-snapshot.ts';

export interface AdminDeps {
  ctx: SandboxContext;
  scenarioName: string;
  upgrader: NodeUpgrader;
  controlPlane: ControlPlane;
  /** Creates and deletes nodes; without it the pool and node-deletion endpoints answer 404. */
  provisioner?: NodeProvisioner;
  /** With `--etcd`: how far etcd has followed the store. */
  etcdStatus?: () => EtcdPersistenceStatus;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

const PREFIX = '/sandbox/v1/';
const MAX_BODY = 1 << 20;
/** A store snapshot sent back for a drill: the large scenario's 150,000 pods take a few hundred MiB. */
const MAX_SNAPSHOT_BODY = 1 << 30;

class AdminError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The sandbox's own API under `/sandbox/v1/` (docs/sandbox-admin-api.md): a summary of the cluster, the
 * budget violations seen, faults at run time, node upgrades and, with a virtual clock, moving time.
 * Returns false for paths it does not own, so the API server can route them elsewhere.
 */
export function createAdminHandler(deps: AdminDeps): AdminHandler {
  return async (req, res, url) => {
    if (!url.pathname.startsWith(PREFIX)) return false;
    try {
      const result = await route(deps, req, url);
      send(res, result.code, result.body, result.headers);
    } catch (err) {
      if (err instanceof AdminError) send(res, err.code, { error: err.message });
      else if (err instanceof UpgradeRefusedError) send(res, err.code, { error: err.message });
      else if (err instanceof ProvisionError) send(res, err.code, { error: err.message });
      else send(res, 500, { error: `internal error: ${(err as Error).message}` });
    }
    return true;
  };
}

async function route(
  deps: AdminDeps,
  req: IncomingMessage,
  url: URL,
): Promise<{ code: number; body: unknown; headers?: Record<string, string> }> {
  const parts = url.pathname.slice(PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  const allow = (...methods: string[]) => {
    if (!methods.includes(method))
      throw new AdminError(405, `${method} is not allowed on ${url.pathname}; use ${methods.join(', ')}`);
  };
  const [first, second, third] = parts;
  if (parts.length === 1 && first === 'summary') {
    allow('GET');
    return { code: 200, body: summary(deps) };
  }
  if (parts.length === 1 && first === 'violations') {
    allow('GET');
    return { code: 200, body: { items: deps.ctx.violations } };
  }
  if (parts.length === 1 && first === 'faults') {
    allow('GET', 'PUT', 'PATCH');
    if (method !== 'GET') changeFaults(deps.ctx, await readBody(req), method === 'PATCH');
    return { code: 200, body: faultSpecOf(deps.ctx.faults) };
  }
  if (parts.length === 3 && first === 'nodes' && third === 'upgrade' && second) {
    allow('GET', 'POST');
    // Note: an upgrade in flight says when to look again, so a poller asks a few times per node, not once
    // a second through a reboot (the rehearsal of 1,000 nodes made 49,000 such requests).
    const retryAfter = (): Record<string, string> | undefined => {
      const seconds = deps.upgrader.retryAfterSeconds(second);
      return seconds === undefined ? undefined : { 'Retry-After': String(seconds) };
    };
    if (method === 'GET') {
      const status = deps.upgrader.status(second);
      if (!status) throw new AdminError(404, `no upgrade was requested for node ${second}`);
      return { code: 200, body: status, headers: retryAfter() };
    }
    const body = parseJson(await readBody(req)) as { version?: unknown } | undefined;
    if (typeof body?.version !== 'string')
      throw new AdminError(400, 'expected a body like {"version":"v1.31.2"}');
    const done = deps.upgrader.upgradeNode(second, body.version);
    if (url.searchParams.get('wait') !== 'true') {
      done.catch(() => {});
      return { code: 202, body: deps.upgrader.status(second), headers: retryAfter() };
    }
    const result = await done;
    return { code: result.state === 'succeeded' ? 200 : 500, body: result };
  }
  if (parts.length === 2 && first === 'store' && second === 'snapshot') {
    allow('GET');
    return { code: 200, body: storeSnapshotOf(deps.ctx.store, deps.scenarioName) };
  }
  if (parts.length === 2 && first === 'store' && second === 'drill') {
    allow('POST');
    const sample = Number(url.searchParams.get('sample') ?? 5);
    if (!Number.isInteger(sample) || sample < 0)
      throw new AdminError(400, 'expected ?sample=N with N a whole number');
    const body = parseJson(await readBody(req, MAX_SNAPSHOT_BODY));
    const drill = drillStoreSnapshot(body, deps.ctx.clock, sample);
    return { code: drill.problems.length === 0 ? 200 : 422, body: drill };
  }
  if (parts.length === 3 && first === 'pools' && third === 'nodes' && second && deps.provisioner) {
    allow('GET', 'POST');
    if (method === 'GET') return { code: 200, body: { items: deps.provisioner.list(second) } };
    const body = parseJson(await readBody(req));
    return { code: 201, body: { items: deps.provisioner.create(machineRequest(second, body)) } };
  }
  if (parts.length === 1 && first === 'deletions' && deps.provisioner) {
    allow('GET');
    return { code: 200, body: { items: deps.provisioner.deleted() } };
  }
  if (parts.length === 2 && first === 'nodes' && second && deps.provisioner) {
    allow('DELETE');
    return { code: 200, body: deps.provisioner.delete(second) };
  }
  if (parts.length === 1 && first === 'clock') {
    allow('GET');
    return { code: 200, body: clockOf(deps.ctx.clock) };
  }
  if (parts.length === 2 && first === 'clock' && second === 'advance') {
    allow('POST');
    const clock = deps.ctx.clock;
    if (!(clock instanceof VirtualClock))
      throw new AdminError(
        409,
        'the clock is not virtual: time only moves by itself (start the sandbox with a virtual clock)',
      );
    const seconds = Number(url.searchParams.get('seconds'));
    if (!url.searchParams.has('seconds') || !Number.isFinite(seconds) || seconds < 0)
      throw new AdminError(400, 'expected ?seconds=N with N a number ≥ 0');
    await clock.advance(seconds * 1000);
    return { code: 200, body: { now: rfc3339(clock.now()) } };
  }
  throw new AdminError(404, `no such sandbox endpoint: ${method} ${url.pathname}`);
}

/** `{"version": "v1.31.4", "count": 2, "labels": {…}, "bootSeconds": 30}` for a pool's new nodes. */
function machineRequest(pool: string, body: unknown): MachineRequest {
  const usage =
    'expected a body like {"version":"v1.31.4","count":1,"labels":{"key":"value"},"bootSeconds":30} (count, labels and bootSeconds optional)';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AdminError(400, usage);
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['version', 'count', 'labels', 'bootSeconds'].includes(k));
  if (unknown.length > 0) throw new AdminError(400, `unknown field "${unknown[0]}": ${usage}`);
  if (typeof b.version !== 'string') throw new AdminError(400, `version is required: ${usage}`);
  const count = b.count ?? 1;
  if (typeof count !== 'number') throw new AdminError(400, `count must be a number: ${usage}`);
  const labels = b.labels ?? {};
  if (
    typeof labels !== 'object' ||
    labels === null ||
    Object.values(labels).some((v) => typeof v !== 'string')
  )
    throw new AdminError(400, `labels must map names to strings: ${usage}`);
  const bootSeconds = b.bootSeconds;
  if (bootSeconds !== undefined && (typeof bootSeconds !== 'number' || !(bootSeconds >= 0)))
    throw new AdminError(400, `bootSeconds must be a number ≥ 0: ${usage}`);
  return {
    pool,
    version: b.version,
    count,
    labels: labels as Record<string, string>,
    ...(bootSeconds !== undefined ? { bootMs: bootSeconds * 1000 } : {}),
  };
}

/**
 * The sandbox's time, which a client keeping time with it (midflight's run engine does) reads once and
 * then runs at the same scale: `nowMs` at `scale` times wall speed, or `"virtual"` (moves only when told).
 */
function clockOf(clock: Clock) {
  const nowMs = clock.now();
  return { now: rfc3339(nowMs), nowMs, scale: Number.isFinite(clock.scale) ? clock.scale : 'virtual' };
}

function summary(deps: AdminDeps) {
  const { ctx, controlPlane } = deps;
  const nodesByVersion: Record<string, { ready: number; notReady: number }> = {};
  let unschedulable = 0;
  for (const node of ctx.store.list(R.nodes)) {
    const version: string = node.status?.nodeInfo?.kubeletVersion ?? 'unknown';
    const entry = nodesByVersion[version] ?? { ready: 0, notReady: 0 };
    nodesByVersion[version] = entry;
    const ready = (node.status?.conditions ?? []).some(
      (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
    );
    if (ready) entry.ready++;
    else entry.notReady++;
    if (node.spec?.unschedulable) unschedulable++;
  }
  const podsByPhase: Record<string, number> = {};
  let terminating = 0;
  for (const pod of ctx.store.list(R.pods)) {
    const phase: string = pod.status?.phase ?? 'Pending';
    podsByPhase[phase] = (podsByPhase[phase] ?? 0) + 1;
    if (pod.metadata.deletionTimestamp) terminating++;
  }
  return {
    scenario: deps.scenarioName,
    clock: clockOf(ctx.clock),
    nodes: { total: ctx.store.count(R.nodes), unschedulable, byVersion: nodesByVersion },
    pods: { total: ctx.store.count(R.pods), terminating, byPhase: podsByPhase },
    controlPlane: {
      version: controlPlane.apiServerVersion(),
      members: controlPlane.memberVersions(),
    },
    violations: ctx.violations.length,
    storage: deps.etcdStatus?.() ?? { etcd: null },
  };
}

function changeFaults(ctx: SandboxContext, text: string, merge: boolean): void {
  const body = parseYamlSource(text || '{}');
  const [syntax] = body.syntaxErrors;
  if (syntax)
    throw new AdminError(400, `body is not JSON: ${syntax.line}:${syntax.column}: ${syntax.message}`);
  const checker = new YamlChecker('body', body);
  const base = merge ? faultSpecOf(ctx.faults) : undefined;
  const spec = readFaults(checker, body.doc.contents, '', base);
  if (checker.issues.length > 0 || !spec)
    throw new AdminError(
      422,
      checker.issues.map(formatIssue).join('; ') || 'expected a JSON object of faults',
    );
  applyFaults(ctx.faults, faultSetFromSpec(spec));
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch (err) {
    throw new AdminError(400, `body is not JSON: ${(err as Error).message}`);
  }
}

async function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AdminError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(code, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
