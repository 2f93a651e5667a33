/**
 * Keep-alive connections for a KubeConfig.
 *
 * IMPORTANT: @kubernetes/client-node builds a new http(s).Agent for every request (in
 * `applySecurityAuthentication` and `applyToHTTPSOptions`), so every request opens a new TCP connection
 * and does a full TLS handshake: a round trip more latency and a millisecond or two of CPU on both ends.
 * An upgrade of 1,000 nodes makes some 20,000 requests; against the sandbox, which serves them in the same
 * process, the handshakes were a fifth of the CPU. `shareConnections` makes the KubeConfig reuse one
 * keep-alive agent per distinct set of agent options instead; credentials that change (a refreshed client
 * certificate) get a new agent, since the options then differ. Proxy agents are left as they are.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';

const shared = new WeakSet<KubeConfig>();

interface PooledAgent {
  kind: typeof http | typeof https;
  /** The options client-node built the agent it stands for with (a CA, a client certificate…). */
  options: object;
  agent: http.Agent;
}

/** Patches `kc` in place (idempotent) and returns it. */
export function shareConnections(kc: KubeConfig): KubeConfig {
  if (shared.has(kc)) return kc;
  shared.add(kc);
  // Note: one or two entries (a refreshed certificate adds one): a scan is cheaper than any key.
  const agents: PooledAgent[] = [];
  const pooled = (agent: unknown): unknown => {
    const kind = agent?.constructor === https.Agent ? https : agent?.constructor === http.Agent ? http : null;
    if (!kind) return agent;
    const options = (agent as { options: http.AgentOptions }).options;
    const known = agents.find((a) => a.kind === kind && sameAgentOptions(a.options, options));
    if (known) return known.agent;
    // Note: one TLS context (the CA parsed, the key loaded) for every connection of the agent: without it,
    // each new connection builds its own, which costs as much as the rest of the handshake. Connections are
    // still opened (a watch's ends with it: the only way to stop a streamed response), so that counts.
    const secure =
      kind === https ? { secureContext: tls.createSecureContext(options as tls.SecureContextOptions) } : {};
    const reused = new kind.Agent({ ...options, ...secure, keepAlive: true });
    agents.push({ kind, options, agent: reused });
    return reused;
  };

  const applySecurityAuthentication = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (context) => {
    await applySecurityAuthentication(context);
    context.setAgent(pooled(context.getAgent()) as http.Agent);
  };
  const applyToHTTPSOptions = kc.applyToHTTPSOptions.bind(kc);
  kc.applyToHTTPSOptions = async (opts) => {
    await applyToHTTPSOptions(opts);
    const withAgent = opts as { agent?: unknown };
    withAgent.agent = pooled(withAgent.agent);
  };
  return kc;
}

/**
 * Whether two sets of agent options would make the same connections: the same options set, a Buffer (a CA, a
 * client certificate or key) compared by its bytes; an option set to undefined is one not set (client-node's
 * two ways in copy different lists of options, many of them undefined). Note: client-node reads the
 * certificates again for every request (from the kubeconfig's data or files), so equal options arrive as new
 * Buffers each time; comparing bytes costs far less than encoding them into a key, per request.
 */
export function sameAgentOptions(a: object, b: object): boolean {
  // Note: no allocation (this runs for every request): each defined option of `a` matches `b`'s, and `b`
  // defines no more of them.
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let defined = 0;
  for (const key in left) {
    const value = left[key];
    if (value === undefined) continue;
    defined++;
    if (!sameValue(value, right[key])) return false;
  }
  for (const key in right) if (right[key] !== undefined) defined--;
  return defined === 0;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b))
    return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i]))
    );
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') return sameAgentOptions(a, b);
  return false;
}
