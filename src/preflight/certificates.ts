import type { Finding, PreflightCheck } from './finding.ts';

const DAY_MS = 86_400_000;

/**
 * `certificates`: when the API server's serving certificate expires. An upgrade that runs into the expiry
 * loses the control plane mid-way; kubeadm renews certificates on upgrade, managed platforms rotate them.
 */
export const checkCertificates: PreflightCheck = (snapshot, _target, options, now) => {
  const subject = { kind: 'Certificate', name: snapshot.server.url };
  const tls = snapshot.server.tls;
  if (!tls) {
    return snapshot.server.url.startsWith('https:')
      ? [
          {
            id: 'certificates',
            severity: 'info',
            subject,
            message: 'the serving certificate was not captured',
            fix: '',
          },
        ]
      : [];
  }
  if (!tls.notAfter) return [];
  const expires = Date.parse(tls.notAfter);
  if (Number.isNaN(expires)) return [];
  const days = Math.floor((expires - now) / DAY_MS);
  const warnDays = options.preflight?.certificateWarningDays ?? 30;
  const finding = (severity: Finding['severity'], message: string, fix: string): Finding => ({
    id: 'certificates',
    severity,
    subject,
    message,
    fix,
  });
  if (expires <= now) {
    return [
      finding(
        'blocker',
        `the API server certificate expired on ${tls.notAfter}`,
        'renew the control-plane certificates (kubeadm certs renew all) first',
      ),
    ];
  }
  if (days < warnDays) {
    return [
      finding(
        'warning',
        `the API server certificate expires in ${days} day(s) (${tls.notAfter})`,
        'renew it before the upgrade (kubeadm certs renew all) so it cannot expire mid-way',
      ),
    ];
  }
  return [finding('info', `the API server certificate is valid until ${tls.notAfter} (${days} days)`, '')];
};
