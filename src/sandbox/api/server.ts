import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SandboxContext } from '../context.ts';
import type { PodLogSource } from '../sim/pod-logs.ts';
import { internalError, methodNotSupported, StatusError, unauthorized } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import { answerReview } from './access-review.ts';
import { ApiMetrics } from './api-metrics.ts';
import { ApiRequest } from './api-request.ts';
import { hasBearerToken, isPublicPath } from './auth.ts';
import { handleCreate } from './create-handler.ts';
import { handleDelete, handleDeleteCollection } from './delete-handler.ts';
import { coreVersions, groupDocument, groupList, resourceList } from './discovery.ts';
import { handleEviction } from './eviction-handler.ts';
import { injectApiFault } from './fault-injection.ts';
import { handleGet } from './get-handler.ts';
import { sendJson, sendJsonText, sendStatusError, sendText } from './http-io.ts';
import { handleList } from './list-handler.ts';
import { openApiV3Document, openApiV3Root } from './openapi.ts';
import { OPENAPI_V2_PROTOBUF, openApiV2Json, openApiV2Protobuf } from './openapi-v2.ts';
import { handlePatch } from './patch-handler.ts';
import { handlePodLog } from './pod-log-handler.ts';
import { renderObjectOnce } from './rendered-objects.ts';
import { type ApiPath, parseApiPath, type ResourceTarget } from './request-path.ts';
import type { ResourceInfo } from './resources.ts';
import { handleScale } from './scale-subresource.ts';
import { selfSignedCertificate } from './tls-certificate.ts';
import { handleUpdate } from './update-handler.ts';
import { handleWatch, WatchRegistry } from './watch-handler.ts';
import type { WatchBacklog } from './watch-outbox.ts';

export interface ApiServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks any free port. */
  port?: number;
  /** When set, every request but /healthz, /readyz, /livez and /version needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost. */
  tls?: boolean;
  /** The body of /version (the control-plane simulation supplies it as members are upgraded). */
  version: () => Record<string, string>;
  /**
   * Bytes of live events a watch may hold for a client that does not keep up before the watch is closed
   * with a 410 Expired. Default DEFAULT_WATCH_BACKLOG_BYTES (64 MiB).
   */
  watchBacklogBytes?: number;
  /** What simulated containers printed, served by pods/log; without it every container's log is empty. */
  podLogs?: PodLogSource;
  /** Serves /sandbox/v1/…; resolves false for a path it does not know (answered 404). */
  adminHandler?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
}

interface RequestLabels {
  verb: string;
  resource: string;
  subresource: string;
}

function pathNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/**
 * The sandbox's Kubernetes API server: discovery, CRUD, list paging, watch, patch and the eviction, status
 * and scale subresources over the context's object store, with Status errors, metrics, bearer-token auth and
 * injected API faults. kubectl and @kubernetes/client-node talk to it as to a real cluster.
 */
export class ApiServer {
  private server?: Server;
  private readonly watches: WatchRegistry;
  private readonly metrics: ApiMetrics;
  private address = '';

  constructor(
    private readonly ctx: SandboxContext,
    private readonly options: ApiServerOptions,
  ) {
    this.metrics = new ApiMetrics(ctx.metrics);
    this.watches = new WatchRegistry(ctx.metrics, options.watchBacklogBytes);
  }

  /** The open watch streams and what each holds for its client (for tests and diagnostics). */
  openWatches(): Array<{ resource: string; backlog: WatchBacklog }> {
    return [...this.watches.open].map((w) => ({ resource: w.resource, backlog: w.backlog() }));
  }

  async listen(): Promise<{ url: string; caCertPem?: string }> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    let caCertPem: string | undefined;
    if (this.options.tls) {
      const cert = await selfSignedCertificate();
      caCertPem = cert.certPem;
      this.server = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, handler);
    } else {
      this.server = createHttpServer(handler);
    }
    const server = this.server;
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { address, port } = server.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    this.address = `${host}:${port}`;
    return { url: `${this.options.tls ? 'https' : 'http'}://${this.address}`, caCertPem };
  }

  async close(): Promise<void> {
    this.watches.endAll();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const labels: RequestLabels = { verb: (req.method ?? '').toUpperCase(), resource: '', subresource: '' };
    res.once('close', () => {
      this.metrics.observe(labels, res.statusCode, (performance.now() - started) / 1000);
    });
    try {
      const url = new URL(req.url ?? '/', 'http://sandbox');
      if (this.options.token && !isPublicPath(url.pathname) && !hasBearerToken(req, this.options.token))
        throw unauthorized();
      await this.route(req, res, url, parseApiPath(url.pathname), labels);
    } catch (err) {
      this.fail(res, err);
    }
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof StatusError) sendStatusError(res, err);
    else if (err instanceof URIError) sendStatusError(res, pathNotFound());
    else sendStatusError(res, internalError(err instanceof Error ? err.message : String(err)));
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    path: ApiPath,
    labels: RequestLabels,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (
      path.kind !== 'resource' &&
      path.kind !== 'admin' &&
      path.kind !== 'review' &&
      method !== 'GET' &&
      method !== 'HEAD'
    )
      throw new StatusError(
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
    switch (path.kind) {
      case 'health':
        return sendText(res, 200, 'ok');
      case 'version':
        return sendJson(res, 200, this.options.version());
      case 'metrics':
        return sendText(res, 200, await this.ctx.metrics.metrics(), this.ctx.metrics.contentType);
      case 'admin':
        if (this.options.adminHandler && (await this.options.adminHandler(req, res, url))) return;
        throw pathNotFound();
      case 'openapi': {
        if (path.version === 'v2' && !path.rest) {
          if ((req.headers.accept ?? '').includes('protobuf')) {
            const proto = openApiV2Protobuf();
            res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTOBUF, 'Content-Length': proto.length });
            res.end(proto);
            return;
          }
          return sendJson(res, 200, openApiV2Json());
        }
        const doc =
          path.version === 'v3' ? (path.rest ? openApiV3Document(path.rest) : openApiV3Root()) : undefined;
        if (!doc) throw pathNotFound();
        return sendJson(res, 200, doc);
      }
      case 'coreVersions':
        return sendJson(res, 200, coreVersions(this.address));
      case 'groupList':
        return sendJson(res, 200, groupList());
      case 'group': {
        const doc = groupDocument(path.group);
        if (!doc) throw pathNotFound();
        return sendJson(res, 200, doc);
      }
      case 'resourceList':
        return sendJson(res, 200, resourceList(path.group, path.version));
      case 'resource':
        return this.serveResource(req, res, url, path.target, labels);
      case 'review':
        labels.verb = 'create';
        labels.resource = path.resource;
        if (method !== 'POST')
          throw new StatusError(
            405,
            'MethodNotAllowed',
            'the server does not allow this method on the requested resource',
          );
        return sendJson(res, 201, await answerReview(req, path));
      case 'unknown':
        throw pathNotFound();
    }
  }

  private async serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    target: ResourceTarget,
    labels: RequestLabels,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const verb = verbOf(method, target, url.searchParams);
    labels.verb = verb ?? method.toLowerCase();
    labels.resource = target.info.resource;
    labels.subresource = target.subresource ?? '';
    const r = new ApiRequest(this.ctx, req, res, url.searchParams, target);
    if (!verb) throw methodNotSupported(r.gr, method.toLowerCase());
    if (target.info.namespaced && target.namespace === undefined && target.name !== undefined)
      throw pathNotFound();
    if (target.info.namespaced && target.namespace === undefined && verb === 'create') throw pathNotFound();

    const fault = await injectApiFault(this.ctx, verb, target.info.resource);
    if (fault) throw fault;

    const sub = target.subresource;
    if (sub === 'eviction') return sendJson(res, 201, await handleEviction(r));
    if (sub === 'scale') return sendJson(res, 200, await handleScale(r, method));
    if (sub === 'log') {
      if (verb !== 'get') throw methodNotSupported(r.gr, verb);
      return handlePodLog(r, this.options.podLogs);
    }
    const info = target.info;
    switch (verb) {
      case 'get': {
        const got = handleGet(r);
        return 'table' in got ? sendJson(res, 200, got.table) : sendObject(res, 200, got.object, info);
      }
      case 'list':
        return handleList(r);
      case 'watch':
        return handleWatch(r, this.watches);
      case 'create':
        return sendObject(res, 201, await handleCreate(r), info);
      case 'update':
        return sendObject(res, 200, await handleUpdate(r), info);
      case 'patch': {
        const { code, object } = await handlePatch(r);
        return sendObject(res, code, object, info);
      }
      case 'delete':
        return sendObject(res, 200, await handleDelete(r), info);
      case 'deletecollection':
        return sendJson(res, 200, await handleDeleteCollection(r));
    }
  }
}

/**
 * One object as the endpoint serves it (type meta first). Note: a write's answer is the object every watch
 * of its resource has just been told about, so its text is usually rendered already (renderObjectOnce).
 */
function sendObject(res: ServerResponse, code: number, obj: KubeObject, info: ResourceInfo): void {
  sendJsonText(res, code, renderObjectOnce(obj, info));
}

type ResourceVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** The Kubernetes verb of a request, or undefined when the method is not allowed on the path. */
function verbOf(method: string, target: ResourceTarget, query: URLSearchParams): ResourceVerb | undefined {
  const watch = ['true', '1'].includes(query.get('watch') ?? '');
  const sub = target.subresource;
  if (sub === 'eviction') return method === 'POST' ? 'create' : undefined;
  if (sub) return ({ GET: 'get', PUT: 'update', PATCH: 'patch' } as const)[method as 'GET'];
  if (target.name !== undefined) {
    if (method === 'GET') return watch ? 'watch' : 'get';
    return ({ PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const)[method as 'PUT'];
  }
  if (method === 'GET') return watch ? 'watch' : 'list';
  return ({ POST: 'create', DELETE: 'deletecollection' } as const)[method as 'POST'];
}
