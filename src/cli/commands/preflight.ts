import { type Command, Option } from 'commander';
import { preflightBackupInput } from '../../backup/index.ts';
import { clusterModelOf, formatVersion, sourceVersionOf } from '../../core/index.ts';
import {
  type Finding,
  type PreflightReport,
  runPreflight,
  type Severity,
  subjectText,
} from '../../preflight/index.ts';
import { defaultStatePath, etcdBackupsDir } from '../../store/index.ts';
import { readClusterSnapshot } from '../cluster-snapshot.ts';
import { ExitCode } from '../errors.ts';
import { parseOutputFormat, renderData } from '../output.ts';
import { parseTargetVersion, readManifests, readPolicyFile } from '../upgrade-inputs.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerPreflightCommand(program: Command): void {
  program
    .command('preflight')
    .description(
      'check the cluster against an upgrade target: version path and skew, removed APIs, budgets that block ' +
        'drains, capacity, node health, fail-closed webhooks, runtimes, certificates. ' +
        'Exit 0: no blockers; 1: blockers found; 2: bad usage',
    )
    .requiredOption('--to <version>', 'target Kubernetes version, e.g. v1.31.2 or 1.31 (latest known patch)')
    .option('--policy <file>', 'upgrade policy YAML (pools, drain options, preflight settings)')
    .option(
      '--manifests <path>',
      'manifest file or directory (YAML, multi-document) to check for removed APIs; repeatable',
      collect,
    )
    .addOption(new Option('-o, --output <format>', 'table, json or yaml').default('table'))
    .action(async (opts, cmd: Command) => {
      const format = parseOutputFormat(opts.output);
      const target = parseTargetVersion(opts.to);
      const policy = readPolicyFile(opts.policy);
      const manifests = readManifests(opts.manifests ?? []);
      const snapshot = await readClusterSnapshot(cmd);
      const backups = preflightBackupInput(policy.etcdBackup, etcdBackupsDir(defaultStatePath()));
      const report = runPreflight(snapshot, target, { ...policy, manifests, ...backups }, Date.now());
      const source = sourceVersionOf(clusterModelOf(snapshot, policy.poolLabel));
      const header = {
        cluster: snapshot.server.url,
        source: source ? formatVersion(source) : snapshot.server.gitVersion,
        target: formatVersion(target),
      };
      process.stdout.write(
        format === 'table'
          ? renderPreflightTable(report, header)
          : renderData({ ...header, ...report }, format as 'json' | 'yaml'),
      );
      if (report.exitCode !== 0) throw new ExitCode(report.exitCode);
    });
}

const HEADINGS: Record<Severity, string> = { blocker: 'BLOCKERS', warning: 'WARNINGS', info: 'INFO' };

export function renderPreflightTable(
  report: PreflightReport,
  header: { cluster: string; source: string; target: string },
): string {
  const lines = [`Preflight for ${header.cluster}: ${header.source} → ${header.target}`, ''];
  for (const severity of ['blocker', 'warning', 'info'] as const) {
    const findings = report.findings.filter((f) => f.severity === severity);
    if (findings.length === 0) continue;
    lines.push(`${HEADINGS[severity]} (${findings.length})`);
    for (const f of findings) lines.push(...findingLines(f));
    lines.push('');
  }
  const { blocker, warning, info } = report.counts;
  const verdict =
    blocker > 0 ? 'the upgrade is blocked until the blockers are fixed' : 'nothing blocks the upgrade';
  lines.push(
    `${blocker} ${blocker === 1 ? 'blocker' : 'blockers'}, ${warning} ${warning === 1 ? 'warning' : 'warnings'}, ${info} info: ${verdict}`,
  );
  return `${lines.join('\n')}\n`;
}

function findingLines(f: Finding): string[] {
  const lines = [`  [${f.id}] ${subjectText(f.subject)}`, `      ${f.message}`];
  if (f.fix) lines.push(`      fix: ${f.fix}`);
  return lines;
}
