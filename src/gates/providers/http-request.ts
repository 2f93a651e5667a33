/**
 * One HTTP request with a deadline, over http or https with an optional CA and certificate check. Used by
 * the prometheus and http gate providers; the answer is returned whatever its status.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpRequestOptions {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Wall-clock ms before the request is abandoned. */
  timeoutMs: number;
  /** PEM CA certificates to trust (https). */
  ca?: string;
  /** false: accept any certificate. */
  rejectUnauthorized?: boolean;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

export function httpRequest(options: HttpRequestOptions): Promise<HttpAnswer> {
  const url = new URL(options.url);
  const transport = url.protocol === 'https:' ? https : http;
  const reqOptions: https.RequestOptions = {
    method: options.method,
    headers: { accept: 'application/json', ...options.headers },
  };
  if (url.protocol === 'https:') {
    if (options.ca) reqOptions.ca = options.ca;
    if (options.rejectUnauthorized === false) reqOptions.rejectUnauthorized = false;
  }
  return new Promise((resolve, reject) => {
    const req = transport.request(url, reqOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    // IMPORTANT: wall-clock on purpose: the server answers in real time whatever the run's clock does.
    req.setTimeout(options.timeoutMs, () =>
      req.destroy(new Error(`no answer from ${url.origin} within ${options.timeoutMs / 1000}s`)),
    );
    req.end(options.body);
  });
}
