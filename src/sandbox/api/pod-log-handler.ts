import type { LogLine, PodLogSource } from '../sim/pod-logs.ts';
import { badRequest, notFound } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import type { ApiRequest } from './api-request.ts';
import { R } from './resources.ts';

/**
 * `GET …/pods/NAME/log`: what the container printed, as plain text, the way the kubelet serves it through
 * the API server (`kubectl logs`). Query parameters: `container` (required when the pod has several),
 * `tailLines`, `limitBytes`, `sinceSeconds`, `timestamps`, `follow` (the stream stays open until the container
 * exits, the pod goes, or the client leaves), `previous` (no container of the sandbox has restarted: 400).
 * Containers with nothing to print (every simulated workload but the upgrade Jobs) have empty logs.
 */
export function handlePodLog(r: ApiRequest, logs: PodLogSource | undefined): void {
  const name = r.name;
  const pod = r.ctx.store.get(R.pods, r.target.namespace, name);
  if (!pod) throw notFound(r.gr, name);
  const container = containerOf(pod, r.query.get('container'));
  const flag = (key: string) => ['true', '1'].includes(r.query.get(key) ?? '');
  if (flag('previous'))
    throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
  if (!pod.spec?.nodeName || (pod.status?.phase ?? 'Pending') === 'Pending')
    throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);

  const tailLines = nonNegativeInt(r.query.get('tailLines'), 'tailLines');
  const limitBytes = nonNegativeInt(r.query.get('limitBytes'), 'limitBytes');
  const sinceSeconds = nonNegativeInt(r.query.get('sinceSeconds'), 'sinceSeconds');
  const timestamps = flag('timestamps');
  const uid = pod.metadata.uid ?? '';
  const since = sinceSeconds === undefined ? undefined : r.ctx.clock.now() - sinceSeconds * 1000;
  let lines = (logs?.lines(uid, container) ?? []).filter((l) => since === undefined || l.at >= since);
  if (tailLines !== undefined) lines = tailLines === 0 ? [] : lines.slice(-tailLines);

  const { res } = r;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  let budget = limitBytes ?? Number.POSITIVE_INFINITY;
  /** Writes a line within limitBytes; false once the budget is spent. */
  const write = (line: LogLine): boolean => {
    if (budget <= 0) return false;
    let text = `${timestamps ? `${new Date(line.at).toISOString()} ` : ''}${line.text}\n`;
    const bytes = Buffer.byteLength(text);
    if (bytes > budget) text = Buffer.from(text).subarray(0, budget).toString('utf8');
    budget -= bytes;
    res.write(text);
    return budget > 0;
  };
  for (const line of lines) if (!write(line)) break;

  const finished = ['Succeeded', 'Failed'].includes(pod.status?.phase) || logs?.ended(uid, container);
  if (!flag('follow') || !logs || finished || budget <= 0) {
    res.end();
    return;
  }
  let unfollow = () => {};
  const end = () => {
    unfollow();
    if (!res.writableEnded) res.end();
  };
  unfollow = logs.follow(uid, container, (line) => !write(line) && end(), end);
  res.on('close', () => unfollow());
}

/** The container asked for, or the only one; refused as the real server refuses it. */
function containerOf(pod: KubeObject, asked: string | null): string {
  const names: string[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
    (c: { name: string }) => c.name,
  );
  const podName = pod.metadata.name ?? '';
  if (asked) {
    if (!names.includes(asked)) throw badRequest(`container ${asked} is not valid for pod ${podName}`);
    return asked;
  }
  const main: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  if (main.length === 1) return main[0]!;
  throw badRequest(
    `a container name must be specified for pod ${podName}, choose one of: [${main.join(' ')}]`,
  );
}

function nonNegativeInt(value: string | null, param: string): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value))
    throw badRequest(`${param}: Invalid value: "${value}": must be a non-negative integer`);
  return Number(value);
}
