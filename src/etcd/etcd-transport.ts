/**
 * HTTP to one etcd member's JSON gateway (grpc-gateway in front of the v3 gRPC API, served on the client
 * URL): a POST with a JSON body, answered with one JSON object, or with a stream of newline-separated JSON
 * objects for server-streaming calls (the snapshot). TLS as etcdctl takes it: a CA bundle, a client
 * certificate and its key, as files.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { EtcdError } from './etcd-errors.ts';

export interface EtcdTls {
  /** PEM CA bundle that signed the members' serving certificates (etcdctl --cacert). */
  cacert?: string;
  /** PEM client certificate (etcdctl --cert); with `key`. */
  cert?: string;
  /** PEM key of the client certificate (etcdctl --key). */
  key?: string;
}

interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Reads the TLS files once; a file that cannot be read is named in the error. */
export function loadTls(endpoint: string, tls: EtcdTls | undefined): TlsMaterial {
  const material: TlsMaterial = {};
  if (!tls) return material;
  if (Boolean(tls.cert) !== Boolean(tls.key))
    throw new EtcdError(
      endpoint,
      'set up TLS',
      'a client certificate needs its key: give both --cert and --key',
      false,
    );
  for (const [field, path] of [
    ['ca', tls.cacert],
    ['cert', tls.cert],
    ['key', tls.key],
  ] as const) {
    if (!path) continue;
    try {
      material[field] = readFileSync(path);
    } catch (err) {
      throw new EtcdError(endpoint, 'set up TLS', `cannot read ${path}: ${(err as Error).message}`, false);
    }
  }
  return material;
}

export interface GatewayRequest {
  endpoint: string;
  operation: string;
  /** `/v3/kv/range` */
  path: string;
  body: unknown;
  tls: TlsMaterial;
  /** Wall-clock ms before the request is abandoned (for a stream: before the answer starts). */
  timeoutMs: number;
  method?: 'GET' | 'POST';
}

/** Sends the request; resolves with the response once its headers arrived (the body not read yet). */
export function openGateway(request: GatewayRequest): Promise<http.IncomingMessage> {
  const { endpoint, operation } = request;
  let url: URL;
  try {
    url = new URL(request.path, endpoint);
  } catch {
    return Promise.reject(
      new EtcdError(endpoint, operation, 'not a URL (expected http(s)://HOST:PORT)', false),
    );
  }
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:')
    return Promise.reject(new EtcdError(endpoint, operation, `unsupported scheme ${url.protocol}`, false));
  const options: https.RequestOptions = {
    method: request.method ?? 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    ...(secure ? request.tls : {}),
  };
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = (secure ? https : http).request(url, options, (res) => {
      answered = true;
      resolve(res);
    });
    req.on('error', (err) => reject(transportError(endpoint, operation, err)));
    // IMPORTANT: wall-clock on purpose: etcd answers in real time whatever the run's clock does. An idle
    // timeout: it also ends a stream (the snapshot) that stops sending midway, which then fails its reader.
    req.setTimeout(request.timeoutMs, () =>
      req.destroy(new Error(`${answered ? 'no data' : 'no answer'} for ${request.timeoutMs / 1000}s`)),
    );
    req.end(request.method === 'GET' ? undefined : JSON.stringify(request.body ?? {}));
  });
}

/** One request, one JSON answer; a gRPC error in the answer becomes an EtcdError with its code. */
export async function callGateway<T>(request: GatewayRequest): Promise<T> {
  const res = await openGateway(request);
  let text: string;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    throw transportError(request.endpoint, request.operation, err as Error);
  }
  const status = res.statusCode ?? 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EtcdError(
      request.endpoint,
      request.operation,
      `HTTP ${status}, not JSON: ${text.slice(0, 200)}`,
      status >= 500,
    );
  }
  const failure = grpcFailure(parsed);
  if (failure)
    throw new EtcdError(
      request.endpoint,
      request.operation,
      failure.message,
      failure.retryable,
      failure.code,
    );
  if (status !== 200)
    throw new EtcdError(
      request.endpoint,
      request.operation,
      `HTTP ${status}: ${text.slice(0, 200)}`,
      status >= 500,
    );
  return parsed as T;
}

/** gRPC codes worth asking again for: unavailable, deadline exceeded, resource exhausted, aborted, unknown. */
const RETRYABLE_CODES = new Set([2, 4, 8, 10, 14]);

/** The gateway's error shape, `{"error": "...", "code": 9}` (or nested in a stream's `{"error": {...}}`). */
export function grpcFailure(
  answer: unknown,
): { message: string; code: number; retryable: boolean } | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const record = answer as Record<string, unknown>;
  const inner =
    typeof record.error === 'object' && record.error !== null
      ? (record.error as Record<string, unknown>)
      : record;
  const message = inner.message ?? inner.error;
  if (typeof message !== 'string' || message === '') return undefined;
  const code = typeof inner.code === 'number' ? inner.code : 2;
  return { message, code, retryable: RETRYABLE_CODES.has(code) };
}

function transportError(endpoint: string, operation: string, err: Error): EtcdError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  // A refused certificate will be refused again; a refused or reset connection may not be.
  const tlsProblem =
    /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/i.test(code) || /certificate|tls|ssl/i.test(err.message);
  return new EtcdError(
    endpoint,
    operation,
    code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message,
    !tlsProblem,
  );
}
