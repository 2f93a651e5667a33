/**
 * A watch request as client-node's `Watch` makes it, over node's own http(s) with the kubeconfig's options
 * (its credentials, TLS, and the keep-alive agent shareConnections puts there): what WatchedObjects gives
 * client-node's ListWatch (its informer) to watch with.
 *
 * Note: client-node's Watch goes through node-fetch, with an AbortController, two AbortSignals, a readline
 * interface and a scan of every socket of the agent per watch; a drain watches its node's pods, so a run
 * starts and stops a watch per node, and in a rehearsal of 1,000 nodes starting, reading and stopping them
 * cost a tenth of the engine's CPU. This one does what ListWatch relies on and nothing else:
 * - `done(error)` once when the watch cannot start (no answer; an error status, with its `statusCode`, 410
 *   Gone telling ListWatch to list again) or breaks; `done(null)` once when the server ends it;
 * - `callback(type, object, event)` for each line the server sends, a line that is not JSON skipped and a
 *   callback's throw swallowed, as client-node does;
 * - the promise resolves once the server has answered (or the watch failed), with what stops it. Stopping
 *   closes the connection and calls `done` no more: the caller that stops it knows.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig, Watch } from '@kubernetes/client-node';
import { serverUrl } from './client.ts';

/** How soon TCP checks a silent watch's connection (client-node's figure): a dead peer ends the watch. */
const KEEP_ALIVE_DELAY_MS = 30_000;

export type WatchCallback = (type: string, object: unknown, event: unknown) => void;

export class StreamWatch {
  constructor(readonly config: KubeConfig) {}

  /** This watch where client-node's ListWatch wants a `Watch` (it calls `watch` and the result's `abort`). */
  asWatch(): Watch {
    return this as unknown as Watch;
  }

  async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: (err: unknown) => void,
  ): Promise<{ abort(): void }> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('No currently active cluster');
    const url = serverUrl(cluster.server, path);
    url.searchParams.set('watch', 'true');
    for (const [key, value] of Object.entries(queryParams))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const options: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await this.config.applyToHTTPSOptions(options);

    let finished = false;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      done(err);
    };
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const req = transport.request(url, options);
      const stopper = {
        abort() {
          finished = true;
          req.destroy();
        },
      };
      req.on('socket', (socket) => socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS));
      req.on('error', (err) => {
        finish(err);
        resolve(stopper);
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          finish(statusError(res));
          resolve(stopper);
          return;
        }
        res.setEncoding('utf8');
        let partial = '';
        res.on('data', (chunk: string) => {
          if (finished) return;
          let start = 0;
          for (let end = chunk.indexOf('\n'); end >= 0; end = chunk.indexOf('\n', start)) {
            const line = partial + chunk.slice(start, end);
            partial = '';
            start = end + 1;
            if (line.length > 0) deliver(line, callback);
            if (finished) return;
          }
          partial += chunk.slice(start);
        });
        res.on('end', () => {
          if (partial.length > 0 && !finished) deliver(partial, callback);
          finish(null);
        });
        res.on('error', finish);
        res.on('close', () => finish(null));
        resolve(stopper);
      });
      req.end();
    });
  }
}

/** What client-node's Watch gives `done` for an answer other than 200: its status text, and its code. */
function statusError(res: http.IncomingMessage): Error & { statusCode: number } {
  const status = res.statusCode ?? 0;
  const text = res.statusMessage || http.STATUS_CODES[status] || 'Internal Server Error';
  return Object.assign(new Error(text), { statusCode: status });
}

function deliver(line: string, callback: WatchCallback): void {
  try {
    const event = JSON.parse(line) as { type: string; object: unknown };
    callback(event.type, event.object, event);
  } catch {
    // As client-node: a line that is not an event, or a callback that throws, does not end the watch.
  }
}
