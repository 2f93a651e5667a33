import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface ClusterTarget {
  /** --kubeconfig; else $KUBECONFIG (a path list, merged as kubectl does), else ~/.kube/config. */
  kubeconfig?: string;
  /** --context; else the kubeconfig's current context. */
  context?: string;
}

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/** Where a pod's service-account token is mounted: with it (and no kubeconfig) client-node goes in-cluster. */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Loads a kubeconfig the way kubectl does, with one clear error for each way it can be wrong.
 * `fallback` is used when neither --kubeconfig nor $KUBECONFIG is set (the sandbox commands point it at
 * the sandbox's own kubeconfig).
 */
export function loadKubeConfig(target: ClusterTarget, fallback?: string): KubeConfig {
  const kc = new KubeConfig();
  const path = target.kubeconfig ?? (process.env.KUBECONFIG ? undefined : fallback);
  try {
    if (path) {
      if (!existsSync(path)) throw new KubeconfigError(`kubeconfig ${path} does not exist`);
      kc.loadFromFile(path);
    } else if (process.env.KUBECONFIG) {
      loadKubeconfigList(kc, process.env.KUBECONFIG);
    } else {
      requireDefaultConfig();
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof KubeconfigError) throw err;
    throw new KubeconfigError(`cannot read kubeconfig${path ? ` ${path}` : ''}: ${(err as Error).message}`);
  }
  if (target.context) {
    if (!kc.getContextObject(target.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new KubeconfigError(
        `context "${target.context}" is not in the kubeconfig (known: ${known.join(', ') || 'none'})`,
      );
    }
    kc.setCurrentContext(target.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new KubeconfigError(
      'no cluster selected: pass --kubeconfig FILE or --context NAME, or set KUBECONFIG (see `kubectl config view`)',
    );
  }
  return kc;
}

/**
 * $KUBECONFIG as kubectl reads it: a list of files merged in order, the first to set a value winning (the
 * current context, and each cluster, user and context by name), with files that do not exist skipped.
 * client-node would stop at the first missing file, and refuse a name that two files define.
 * None existing is an error.
 */
function loadKubeconfigList(kc: KubeConfig, list: string): void {
  const files = list.split(delimiter).filter(Boolean);
  const present = files.filter((file) => existsSync(file));
  if (present.length === 0) {
    throw new KubeconfigError(
      `no kubeconfig: ${files.length === 1 ? 'the file in KUBECONFIG does not exist' : 'none of the files in KUBECONFIG exists'} (${files.join(', ')})`,
    );
  }
  kc.loadFromFile(present[0]!);
  for (const file of present.slice(1)) {
    const next = new KubeConfig();
    next.loadFromFile(file);
    if (!kc.currentContext) kc.setCurrentContext(next.currentContext);
    const known = (items: Array<{ name: string }>) => new Set(items.map((item) => item.name));
    const [clusters, users, contexts] = [known(kc.clusters), known(kc.users), known(kc.contexts)];
    for (const cluster of next.clusters) if (!clusters.has(cluster.name)) kc.addCluster(cluster);
    for (const user of next.users) if (!users.has(user.name)) kc.addUser(user);
    for (const context of next.contexts) if (!contexts.has(context.name)) kc.addContext(context);
  }
}

/**
 * IMPORTANT: with no $KUBECONFIG, no ~/.kube/config and no service account, client-node's loadFromDefault
 * silently points at http://localhost:8080, and the first request then fails with an unrelated TLS message.
 * kubectl says there is no configuration; so do we, before that fallback can be taken.
 */
function requireDefaultConfig(): void {
  // Note: on Windows client-node also looks in %USERPROFILE% and inside WSL; leave that search to it.
  if (process.platform === 'win32') return;
  // As client-node does: ~ is $HOME, nothing else.
  const defaultPath = process.env.HOME ? join(process.env.HOME, '.kube', 'config') : undefined;
  if ((defaultPath && existsSync(defaultPath)) || existsSync(SERVICE_ACCOUNT_TOKEN)) return;
  throw new KubeconfigError(
    'no kubeconfig: set KUBECONFIG, pass --kubeconfig FILE, or create ~/.kube/config ' +
      `(${defaultPath ? `${defaultPath} does not exist` : '$HOME is not set'}, and this is not a pod with a service account)`,
  );
}

export interface RawRequestOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** The body's media type (default application/json): a patch names its kind here. */
  contentType?: string;
  timeoutMs?: number;
  /** Default application/json. */
  accept?: string;
}

export interface RawResponse {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * One HTTP request to the cluster's server with the kubeconfig's credentials and TLS settings, for the
 * endpoints the generated client does not cover (/version, the sandbox's admin API).
 */
export async function requestRaw(
  kc: KubeConfig,
  method: string,
  path: string,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeconfigError('no cluster selected in the kubeconfig');
  const url = serverUrl(cluster.server, path);
  const reqOptions: https.RequestOptions = {
    method,
    headers: { accept: options.accept ?? 'application/json' },
  };
  await kc.applyToHTTPSOptions(reqOptions);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (payload) {
    const headers = reqOptions.headers as Record<string, string | number>;
    headers['content-type'] = options.contentType ?? 'application/json';
    // Note: node sends a DELETE's body neither chunked nor with a length unless told its length, and the
    // server then reads that body as the next request; with the length every method's body is one piece.
    headers['content-length'] = Buffer.byteLength(payload);
  }
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, reqOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.timeoutMs) {
      req.setTimeout(options.timeoutMs, () =>
        // ETIMEDOUT, as the system would say: a timeout is transient (see classifyFailure).
        req.destroy(
          Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        ),
      );
    }
    req.end(payload);
  });
}

/**
 * `path` (absolute, with its query) on the cluster's `server`. Note: joined as text, as client-node does: a
 * server URL with a path of its own (a proxy's /k8s/clusters/…) keeps it, where `new URL(path, server)`
 * would drop it.
 */
export function serverUrl(server: string, path: string): URL {
  return new URL(server.replace(/\/+$/, '') + path);
}

/**
 * A request the cluster answered with an error status: what `apiFailureOf` reads (the status, the Status
 * body, Retry-After), as from client-node's own ApiException.
 */
export class ApiAnswerError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
    readonly headers: http.IncomingHttpHeaders,
    what: string,
  ) {
    super(`${what} answered ${statusCode}`);
    this.name = 'ApiAnswerError';
  }
}

/**
 * One request answered with JSON, parsed as it came: no typed decoding.
 *
 * Note: client-node's generated APIs decode every answer into model classes, walking each field against the
 * model's attribute map and turning timestamps into Dates; for the objects the engine reads and writes most
 * (nodes, pods, lists of them) that decoding cost more CPU than the rest of the request. Callers get the API
 * server's JSON: timestamps are RFC 3339 strings, fields keep their wire names (`continue`, not `_continue`).
 * A status other than 2xx throws an ApiAnswerError; no answer throws what the network said (ECONNREFUSED…).
 */
export async function requestJson<T>(
  kc: KubeConfig,
  method: string,
  path: string,
  options: RawRequestOptions = {},
): Promise<T> {
  return JSON.parse(await requestText(kc, method, path, options)) as T;
}

/** The text of a 2xx answer, for callers that look at it before parsing; other statuses as requestJson. */
export async function requestText(
  kc: KubeConfig,
  method: string,
  path: string,
  options: RawRequestOptions = {},
): Promise<string> {
  const res = await requestRaw(kc, method, path, options);
  if (res.status < 200 || res.status > 299)
    throw new ApiAnswerError(res.status, res.body, res.headers, `${method} ${path.split('?', 1)[0]}`);
  return res.body;
}
