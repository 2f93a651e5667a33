import {
  clusterModelOf,
  compareVersions,
  formatMinor,
  isDaemonSetPod,
  type KubeVersion,
  kubeProxyKubeletViolation,
  minorHops,
  type SkewComponent,
  skewViolation,
  sourceVersionOf,
  versionFromImage,
} from '../core/index.ts';
import { type Finding, listSome, type PreflightCheck } from './finding.ts';

/**
 * `version-skew`: kubelets, kube-proxy and control-plane components against the skew policy, now and at every
 * hop of the control plane. Kubelets and kube-proxy only move after the control plane, so at each hop they
 * are still at their current version.
 */
export const checkVersionSkew: PreflightCheck = (snapshot, target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const source = sourceVersionOf(model);
  if (!source) return [];
  const findings: Finding[] = [];
  const apiservers = model.apiserverVersions;

  const spread = skewViolation('kube-apiserver', apiservers[0]!, apiservers);
  if (spread) {
    findings.push({
      id: 'version-skew',
      severity: 'blocker',
      subject: { kind: 'ControlPlane', name: 'kube-apiserver' },
      message: spread,
      fix: 'finish the interrupted control-plane upgrade first (bring every apiserver to the same minor)',
    });
  }
  for (const member of model.controlPlane) {
    for (const component of ['kube-controller-manager', 'kube-scheduler'] as SkewComponent[]) {
      const v = member.components[component];
      const why = v && skewViolation(component, v, apiservers);
      if (why) {
        findings.push({
          id: 'version-skew',
          severity: 'blocker',
          subject: { kind: 'Pod', namespace: 'kube-system', name: `${component}-${member.node}` },
          message: why,
          fix: `bring ${component} on ${member.node} to the apiserver's minor before upgrading`,
        });
      }
    }
  }

  // Group nodes by kubelet version: one finding per version and situation, not one per node.
  const byKubelet = new Map<string, { version: KubeVersion; nodes: string[] }>();
  for (const n of model.nodes) {
    if (!n.kubelet) continue;
    const key = formatMinor(n.kubelet);
    let entry = byKubelet.get(key);
    if (!entry) {
      entry = { version: n.kubelet, nodes: [] };
      byKubelet.set(key, entry);
    }
    entry.nodes.push(n.name);
  }
  const hops = compareVersions(target, source) > 0 ? minorHops(source, target) : [];
  for (const { version, nodes } of byKubelet.values()) {
    const now = skewViolation('kubelet', version, apiservers);
    if (now) {
      findings.push({
        id: 'version-skew',
        severity: 'blocker',
        subject: { kind: 'Node', name: nodes[0]! },
        message: `${nodes.length} node(s) (${listSome(nodes)}) already break the skew policy: ${now}`,
        fix: 'upgrade (or replace) these nodes to a supported kubelet before the control plane moves',
      });
      continue;
    }
    const hop = hops.find((h) => skewViolation('kubelet', version, [h]));
    if (hop) {
      findings.push({
        id: 'version-skew',
        severity: 'warning',
        subject: { kind: 'Node', name: nodes[0]! },
        message:
          `${nodes.length} node(s) at kubelet ${formatMinor(version)} (${listSome(nodes)}) would break the skew ` +
          `policy when the control plane reaches ${formatMinor(hop)}: ${skewViolation('kubelet', version, [hop])}`,
        fix: `the plan upgrades these nodes at an intermediate version before the control plane moves to ${formatMinor(hop)}`,
      });
    }
  }

  // kube-proxy: the version is read from the kube-proxy DaemonSet pods' image.
  for (const n of model.nodes) {
    const proxy = n.pods.find((p) => isDaemonSetPod(p) && p.metadata.name.startsWith('kube-proxy'));
    const proxyVersion = versionFromImage(proxy?.spec.containers[0]?.image);
    if (!proxyVersion) continue;
    const why =
      skewViolation('kube-proxy', proxyVersion, apiservers) ??
      (n.kubelet ? kubeProxyKubeletViolation(proxyVersion, n.kubelet) : undefined);
    if (why) {
      findings.push({
        id: 'version-skew',
        severity: 'blocker',
        subject: { kind: 'Pod', namespace: proxy!.metadata.namespace, name: proxy!.metadata.name },
        message: why,
        fix: 'update the kube-proxy DaemonSet image to the control plane minor',
      });
      break;
    }
  }
  return findings;
};
