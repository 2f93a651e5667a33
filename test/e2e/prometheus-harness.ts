import {
  type PrometheusProcess,
  type PrometheusProcessOptions,
  startPrometheus as startPrometheusProcess,
} from '../../src/observe/index.ts';
import { requireBinary } from './loopback-binary.ts';

export { requireBinary } from './loopback-binary.ts';

/**
 * A real Prometheus (Debian's `/usr/bin/prometheus`, 2.42) for tests: on a free loopback port, with a temp
 * data directory and a generated config scraping the given targets every second.
 *
 *   describe.skipIf(!requireBinary('prometheus'))('…', () => {
 *     const sandbox = await startSandbox();
 *     const prom = await startPrometheus({ targets: [scrapeTargetOf(sandbox.kubeConfig())] });
 *     await prom.waitForTargetsUp();
 *     const [sample] = await prom.query('sum(apiserver_request_total)');
 *     await prom.stop();
 */

export type { ScrapeTarget } from '../../src/observe/index.ts';
export { PROMETHEUS_BINARY, scrapeTargetOf } from '../../src/observe/index.ts';

/** The server as src/observe starts it (the demo's too), with a 1 s scrape interval by default. */
export type PrometheusOptions = PrometheusProcessOptions;

/** One series of an instant query's answer. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus extends PrometheusProcess {
  /** An instant query (`/api/v1/query`) at the server's now; throws on an error answer. */
  query(promql: string): Promise<PromSample[]>;
  /**
   * Polls `promql` every half second until `accept` holds for its answer, and returns that answer. The
   * bound (default 60 s of wall time) is generous: the machine is shared; an honest wait takes seconds.
   */
  waitFor(
    promql: string,
    accept: (samples: PromSample[]) => boolean,
    timeoutMs?: number,
  ): Promise<PromSample[]>;
  /** Waits until every target has been scraped successfully at least once. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const proc = await startPrometheusProcess(options);
  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${proc.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error ?? `HTTP ${res.status}`}`);
    if (body.data?.resultType === 'scalar') {
      const [, v] = body.data.result as [number, string];
      return [{ metric: {}, value: Number(v) }];
    }
    return (
      (body.data?.result ?? []) as Array<{ metric: Record<string, string>; value: [number, string] }>
    ).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const waitFor: RunningPrometheus['waitFor'] = async (promql, accept, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: PromSample[] | string = [];
    for (;;) {
      try {
        last = await query(promql);
        if (accept(last)) return last;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline)
        throw new Error(
          `${promql}: not accepted within ${timeoutMs} ms; last answer: ${JSON.stringify(last)}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  return {
    ...proc,
    query,
    waitFor,
    async waitForTargetsUp(timeoutMs = 60_000) {
      await waitFor(
        'up',
        (s) => s.length === options.targets.length && s.every((x) => x.value === 1),
        timeoutMs,
      );
    },
  };
}

/** Whether Debian's Prometheus is installed; see requireBinary for what a missing one does. */
export function prometheusAvailable(): boolean {
  return requireBinary('prometheus');
}
