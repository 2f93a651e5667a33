import { clusterModelOf, isPodReady } from '../core/index.ts';
import type { Finding, PreflightCheck } from './finding.ts';

/**
 * `webhook-fail-closed`: admission webhooks with failurePolicy Fail (the v1 default) whose backend pods run on
 * nodes the upgrade drains. While no backend answers, every write the webhook intercepts fails, which can
 * stall the drain itself (evictions, pod creation).
 */
export const checkWebhookFailClosed: PreflightCheck = (snapshot, _target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const findings: Finding[] = [];
  for (const config of snapshot.webhooks) {
    for (const hook of config.webhooks ?? []) {
      if ((hook.failurePolicy ?? 'Fail') !== 'Fail') continue;
      const service = hook.clientConfig.service;
      const subject = { kind: config.kind, name: `${config.metadata.name}/${hook.name}` };
      if (!service) {
        findings.push({
          id: 'webhook-fail-closed',
          severity: 'info',
          subject,
          message: `fails closed and calls ${hook.clientConfig.url ?? 'an external URL'}, outside the cluster: the drain does not affect it`,
          fix: '',
        });
        continue;
      }
      const svc = snapshot.services?.find(
        (s) => s.metadata.namespace === service.namespace && s.metadata.name === service.name,
      );
      const selector = svc?.spec?.selector;
      if (!svc || !selector) {
        findings.push({
          id: 'webhook-fail-closed',
          severity: 'warning',
          subject,
          message: `fails closed; its backend service ${service.namespace}/${service.name} ${svc ? 'has no selector' : 'was not found'}, so midflight cannot tell where it runs`,
          fix: 'check that the webhook backend survives node drains (2+ replicas, a PodDisruptionBudget)',
        });
        continue;
      }
      const backends = snapshot.pods.filter(
        (p) =>
          p.metadata.namespace === service.namespace &&
          Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
      );
      const ready = backends.filter(isPodReady);
      const nodes = new Set(ready.map((p) => p.spec.nodeName).filter((n): n is string => !!n));
      const protectedByBudget = ready.some((p) => model.budgetsOf(p).length > 0);
      if (ready.length === 0) {
        findings.push({
          id: 'webhook-fail-closed',
          severity: 'blocker',
          subject,
          message: `fails closed and has no ready backend pod behind ${service.namespace}/${service.name}: matching writes already fail`,
          fix: 'restore the webhook backend, or set failurePolicy: Ignore temporarily',
        });
      } else if (nodes.size < 2 || !protectedByBudget) {
        findings.push({
          id: 'webhook-fail-closed',
          severity: 'warning',
          subject,
          message:
            `fails closed; its ${ready.length} backend pod(s) run on ${nodes.size} node(s) ` +
            `(${[...nodes].join(', ')})${protectedByBudget ? '' : ' with no PodDisruptionBudget'}: draining them blocks matching writes`,
          fix: 'run 2+ backend replicas on different nodes with a PodDisruptionBudget (maxUnavailable: 1)',
        });
      }
    }
  }
  return findings;
};
