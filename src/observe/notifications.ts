/**
 * Loud about what the run does not do on purpose: a notice on start, gate failure, pause, rollback and end,
 * POSTed to each webhook the policy lists, as generic JSON or as a Slack-compatible message (`text` +
 * blocks). A webhook that fails or hangs is warned about and never stops the run; its URL is a secret and
 * appears in no message (targets are named by their place in the policy).
 */
import { networkReason } from './alertmanager-client.ts';
import type { NotifyKind, NotifyOn } from './observe-policy.ts';

/** What happened, for every kind of webhook. */
export interface RunNotice {
  on: NotifyOn;
  runId: string;
  /** Clock ms. */
  time: number;
  /** The cluster's API server. */
  cluster: string;
  planId: string;
  source: string;
  target: string;
  /** One line a person reads first. */
  title: string;
  state?: string;
  reason?: string;
  /** Extra facts, e.g. the gate, its value, the nodes upgraded. */
  details?: Record<string, string | number | boolean>;
}

/** The generic JSON webhook's body: the notice as it is, versioned. */
export function webhookPayload(notice: RunNotice): Record<string, unknown> {
  return {
    source: 'midflight',
    schemaVersion: 1,
    event: notice.on,
    runId: notice.runId,
    time: new Date(notice.time).toISOString(),
    cluster: notice.cluster,
    planId: notice.planId,
    from: notice.source,
    to: notice.target,
    title: notice.title,
    ...(notice.state ? { state: notice.state } : {}),
    ...(notice.reason ? { reason: notice.reason } : {}),
    ...(notice.details ? { details: notice.details } : {}),
  };
}

const EMOJI: Record<NotifyOn, string> = {
  started: ':arrow_forward:',
  'gate-failed': ':rotating_light:',
  paused: ':double_vertical_bar:',
  rollback: ':leftwards_arrow_with_hook:',
  finished: ':checkered_flag:',
};

/** A Slack incoming-webhook message: `text` for notifications and clients without blocks, blocks for the rest. */
export function slackPayload(notice: RunNotice): Record<string, unknown> {
  const facts = [
    ...(notice.state ? [`*state:* ${notice.state}`] : []),
    ...(notice.reason ? [`*reason:* ${notice.reason}`] : []),
    ...Object.entries(notice.details ?? {}).map(([k, v]) => `*${k}:* ${v}`),
  ];
  const text = `${EMOJI[notice.on]} ${notice.title}`;
  return {
    text,
    blocks: [
      // Note: a header block holds at most 150 characters of plain text.
      { type: 'header', text: { type: 'plain_text', text: notice.title.slice(0, 150), emoji: true } },
      ...(facts.length > 0
        ? [{ type: 'section', text: { type: 'mrkdwn', text: facts.join('\n').slice(0, 3000) } }]
        : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `run \`${notice.runId}\` · plan \`${notice.planId}\` · ${notice.source} → ${notice.target} · ${notice.cluster}`,
          },
        ],
      },
    ],
  };
}

export interface NotifyEndpoint {
  kind: NotifyKind;
  /** Secret: never printed. */
  url: string;
  on: readonly NotifyOn[];
  /** Wall-clock ms the POST may take. */
  timeoutMs: number;
}

/** Sends notices to every endpoint that wants them, in the background; flush() waits for them. */
export class Notifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly endpoints: readonly NotifyEndpoint[],
    /** Told of every failure, in words without the URL. */
    private readonly warn: (message: string) => void,
  ) {}

  send(notice: RunNotice): void {
    this.endpoints.forEach((endpoint, i) => {
      if (!endpoint.on.includes(notice.on)) return;
      const p = this.post(endpoint, i, notice).finally(() => this.pending.delete(p));
      this.pending.add(p);
    });
  }

  /** Waits for every notice in flight (each is bounded by its timeout). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async post(endpoint: NotifyEndpoint, index: number, notice: RunNotice): Promise<void> {
    const name = `alerts.notify[${index}] (${endpoint.kind})`;
    const body = endpoint.kind === 'slack' ? slackPayload(notice) : webhookPayload(notice);
    try {
      // Note: wall-clock timeout: it bounds a network exchange, not the run's time.
      const res = await fetch(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(endpoint.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) this.warn(`notification (${notice.on}) to ${name} failed: HTTP ${res.status}`);
    } catch (err) {
      this.warn(`notification (${notice.on}) to ${name} failed: ${networkReason(err, endpoint.timeoutMs)}`);
    }
  }
}
