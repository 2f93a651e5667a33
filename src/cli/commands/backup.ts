/**
 * `midflight backup save|verify|drill|list|prune|restore`: etcd v3 snapshots a person can trust, because
 * each one is checked and can be restored into a scratch etcd before it is needed.
 */
import { type Command, Option } from 'commander';
import {
  type BackupEntry,
  BackupError,
  drillBackup,
  listBackups,
  pruneBackups,
  type Retention,
  restoreBackup,
  saveBackup,
  selectPrunable,
  verifyBackup,
} from '../../backup/index.ts';
import { DurationParseError, formatDuration, parseDuration, RealClock } from '../../core/index.ts';
import { EtcdctlError, EtcdError, type EtcdTls } from '../../etcd/index.ts';
import { CliError, ExitCode, UsageError } from '../errors.ts';
import { parseOutputFormat, renderData, renderTable } from '../output.ts';

/** Where snapshots go and are listed from when no directory is given. */
export const DEFAULT_BACKUP_DIR = 'etcd-backups';
const FORMATS = ['table', 'json'] as const;

function outputOption(): Option {
  return new Option('-o, --output <format>', FORMATS.join(' or ')).default('table');
}

export function registerBackupCommands(program: Command): void {
  const backup = program
    .command('backup')
    .description('etcd snapshots: save one, verify it, prove it restores (drill), list, prune and restore')
    .addHelpText(
      'after',
      `
A snapshot you have never restored is a hope, not a backup. The usual sequence before an upgrade:

  midflight backup save --endpoints https://10.0.0.1:2379 \\
      --cacert /etc/kubernetes/pki/etcd/ca.crt \\
      --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt \\
      --key /etc/kubernetes/pki/etcd/healthcheck-client.key --to /var/backups/etcd
  midflight backup verify /var/backups/etcd/etcd-20261207T120000Z.db
  midflight backup drill  /var/backups/etcd/etcd-20261207T120000Z.db

Each snapshot has a metadata file beside it (FILE.json: time, cluster id, member, revision, key count,
size, SHA-256, run id). The etcdctl flags and ETCDCTL_ENDPOINTS / ETCDCTL_CACERT / ETCDCTL_CERT /
ETCDCTL_KEY are understood. drill and restore need etcdctl (Debian: etcd-client), drill also etcd
(etcd-server). See docs/backup.md.`,
    );

  backup
    .command('save')
    .description('stream a v3 snapshot from one healthy member to DIR, atomically, with its metadata')
    .option('--endpoints <urls>', 'etcd client URLs, comma-separated (default: $ETCDCTL_ENDPOINTS)')
    .option('--cacert <file>', 'CA bundle of the members’ serving certificates (default: $ETCDCTL_CACERT)')
    .option('--cert <file>', 'client certificate (default: $ETCDCTL_CERT)')
    .option('--key <file>', 'key of the client certificate (default: $ETCDCTL_KEY)')
    .option('--to <dir>', 'directory the snapshot and its metadata go to', DEFAULT_BACKUP_DIR)
    .option('--run-id <id>', 'the Midflight run this snapshot belongs to (recorded in the metadata)')
    .addOption(outputOption())
    .action(async (opts) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      const tls = tlsOf(opts);
      const endpoints = endpointsOf(opts.endpoints ?? process.env.ETCDCTL_ENDPOINTS, tls);
      const saved = await backupCall(() =>
        saveBackup({
          endpoints,
          ...(tls ? { tls } : {}),
          dir: opts.to,
          clock: new RealClock(),
          ...(opts.runId ? { runId: opts.runId } : {}),
        }),
      );
      if (format === 'json') return void process.stdout.write(renderData(saved, 'json'));
      const m = saved.metadata;
      process.stdout.write(
        `Saved ${saved.file} (${formatBytes(m.size)}) in ${formatDuration(saved.durationMs)}\n` +
          `  from ${m.member.name || m.member.id} (${m.member.endpoint}), cluster ${m.clusterId}, etcd ${m.etcdVersion}\n` +
          `  revision ${m.revision}, ${m.keys} keys, sha256 ${m.sha256}\n` +
          `Next: midflight backup verify ${saved.file} && midflight backup drill ${saved.file}\n`,
      );
    });

  backup
    .command('verify')
    .description(
      'check FILE is a whole, unaltered snapshot: its own integrity hash, its metadata’s size and SHA-256, and etcdctl reading it',
    )
    .argument('<file>', 'snapshot file (.db)')
    .addOption(outputOption())
    .action(async (file: string, opts) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      const verified = await backupCall(() => verifyBackup({ file, record: { clock: new RealClock() } }));
      if (format === 'json') process.stdout.write(renderData(verified, 'json'));
      else {
        const lines = verified.ok
          ? [`OK ${file}: ${formatBytes(verified.size)}, sha256 ${verified.sha256}`]
          : [`REJECTED ${file}:`, ...verified.problems.map((p) => `  - ${p}`)];
        if (verified.status)
          lines.push(
            `  etcdctl: revision ${verified.status.revision}, ${verified.status.totalKey} keys (all revisions)`,
          );
        for (const note of verified.notes) lines.push(`  note: ${note}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (!verified.ok) throw new ExitCode(1);
    });

  backup
    .command('drill')
    .description(
      'prove FILE restores: restore it into a scratch etcd on a free loopback port, read it back, stop it, clean up, say how long it took',
    )
    .argument('<file>', 'snapshot file (.db)')
    .option('--sample <n>', 'how many keys to read back by name', '5')
    .option('--etcd <binary>', 'etcd binary for the scratch member', '/usr/bin/etcd')
    .option('--etcdctl <binary>', 'etcdctl binary that restores', '/usr/bin/etcdctl')
    .addOption(outputOption())
    .action(async (file: string, opts) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      const sampleSize = Number(opts.sample);
      if (!Number.isInteger(sampleSize) || sampleSize < 0)
        throw new UsageError(`--sample must be a whole number of keys, got "${opts.sample}"`);
      const report = await backupCall(() =>
        drillBackup({
          file,
          clock: new RealClock(),
          sampleSize,
          etcd: opts.etcd,
          etcdctl: opts.etcdctl,
          record: true,
        }),
      );
      if (format === 'json') process.stdout.write(renderData(report, 'json'));
      else
        process.stdout.write(
          `${report.ok ? 'DRILL PASSED' : 'DRILL FAILED'} ${file}\n` +
            `  restored in ${formatDuration(report.restoreMs)}, serving after ${formatDuration(report.startMs)}, ${formatDuration(report.totalMs)} in all\n` +
            `  revision ${report.revision}, ${report.keys} keys${report.sampleKeys.length ? `; e.g. ${report.sampleKeys.join(', ')}` : ''}\n` +
            report.problems.map((p) => `  - ${p}\n`).join(''),
        );
      if (!report.ok) throw new ExitCode(1);
    });

  backup
    .command('list')
    .description('the snapshots in DIR, newest first, with what their metadata says')
    .argument('[dir]', 'backup directory', DEFAULT_BACKUP_DIR)
    .addOption(outputOption())
    .action((dir: string, opts) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      const entries = listBackups(dir);
      process.stdout.write(format === 'json' ? renderData(entries, 'json') : renderEntries(entries, dir));
    });

  backup
    .command('prune')
    .description(
      'remove the snapshots (and their metadata) a retention policy lets go; the newest always stays',
    )
    .argument('[dir]', 'backup directory', DEFAULT_BACKUP_DIR)
    .option('--keep-last <n>', 'keep the newest N')
    .option('--max-age <duration>', 'keep those younger than this (e.g. 7d, 36h)')
    .option('--dry-run', 'say what would go, remove nothing')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nA snapshot stays when either rule keeps it: --keep-last 3 --max-age 7d keeps the three newest and every one of the last week.',
    )
    .action((dir: string, opts) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      const retention = retentionOf(opts);
      const now = new RealClock().now();
      // A dry run applies the same rule as prune, removing nothing.
      const gone = opts.dryRun
        ? selectPrunable(listBackups(dir), retention, now)
        : pruneBackups(dir, retention, now);
      if (format === 'json')
        return void process.stdout.write(renderData({ dryRun: !!opts.dryRun, removed: gone }, 'json'));
      process.stdout.write(
        gone.length === 0
          ? `Nothing to prune in ${dir}\n`
          : `${opts.dryRun ? 'Would remove' : 'Removed'} ${gone.length} snapshot(s):\n${gone.map((e) => `  ${e.file} (${e.takenAt})\n`).join('')}`,
      );
    });

  backup
    .command('restore')
    .description('restore FILE (verified first) into a new, empty --data-dir for an etcd member to start on')
    .argument('<file>', 'snapshot file (.db)')
    .requiredOption('--data-dir <dir>', 'new data directory (must not exist or be empty)')
    .option('--name <name>', 'the member’s name', 'default')
    .option('--initial-cluster <list>', 'name=peerURL,… of the restored cluster (default: this member alone)')
    .option('--initial-advertise-peer-urls <urls>', 'this member’s peer URLs', 'http://localhost:2380')
    .option('--initial-cluster-token <token>', 'a token new to this cluster, so old members cannot join it')
    .option('--etcdctl <binary>', 'etcdctl binary that restores', '/usr/bin/etcdctl')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nEvery member of the cluster is restored from the same snapshot, each into its own data directory, ' +
        'with the same --initial-cluster; then each member is started on its directory. See docs/backup.md.',
    )
    .action(async (file: string, opts) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      const restored = await backupCall(() =>
        restoreBackup({
          file,
          dataDir: opts.dataDir,
          name: opts.name,
          initialAdvertisePeerUrls: opts.initialAdvertisePeerUrls,
          etcdctl: opts.etcdctl,
          ...(opts.initialCluster ? { initialCluster: opts.initialCluster } : {}),
          ...(opts.initialClusterToken ? { initialClusterToken: opts.initialClusterToken } : {}),
        }),
      );
      if (format === 'json') return void process.stdout.write(renderData(restored, 'json'));
      process.stdout.write(
        `Restored ${file} into ${restored.dataDir}${restored.revision !== undefined ? ` (revision ${restored.revision})` : ''}\n` +
          `Next: start etcd --name ${opts.name} --data-dir ${restored.dataDir} with the same peer URLs\n`,
      );
    });
}

/** TLS from the flags, else etcdctl's environment variables; undefined when none is given. */
function tlsOf(opts: { cacert?: string; cert?: string; key?: string }): EtcdTls | undefined {
  const cacert = opts.cacert ?? process.env.ETCDCTL_CACERT;
  const cert = opts.cert ?? process.env.ETCDCTL_CERT;
  const key = opts.key ?? process.env.ETCDCTL_KEY;
  if (Boolean(cert) !== Boolean(key))
    throw new UsageError('a client certificate needs its key: give both --cert and --key (or neither)');
  if (!cacert && !cert) return undefined;
  return { ...(cacert ? { cacert } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/**
 * `https://10.0.0.1:2379,10.0.0.2:2379` → URLs; a bare HOST:PORT (as etcdctl takes it) gets https when TLS
 * files are given, http otherwise.
 */
export function endpointsOf(value: string | undefined, tls: EtcdTls | undefined): string[] {
  const list = (value ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (list.length === 0)
    throw new UsageError(
      'no etcd endpoint: pass --endpoints https://HOST:2379[,…] (or set ETCDCTL_ENDPOINTS)',
    );
  return list.map((endpoint) => {
    const url = /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `${tls ? 'https' : 'http'}://${endpoint}`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--endpoints: "${endpoint}" is not a URL (expected https://HOST:PORT)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new UsageError(`--endpoints: "${endpoint}" must be http:// or https://`);
    return url.replace(/\/+$/, '');
  });
}

function retentionOf(opts: { keepLast?: string; maxAge?: string }): Retention {
  if (opts.keepLast === undefined && opts.maxAge === undefined)
    throw new UsageError(
      'say what to keep: --keep-last N and/or --max-age DURATION (e.g. --keep-last 5 --max-age 14d)',
    );
  const retention: Retention = {};
  if (opts.keepLast !== undefined) {
    const n = Number(opts.keepLast);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`--keep-last must be a whole number of at least 1, got "${opts.keepLast}"`);
    retention.keepLast = n;
  }
  if (opts.maxAge !== undefined) {
    try {
      retention.maxAgeMs = parseDuration(opts.maxAge);
    } catch (err) {
      if (err instanceof DurationParseError) throw new UsageError(`--max-age: ${err.message}`);
      throw err;
    }
  }
  return retention;
}

/** Runs a backup operation; its known failures become one line and exit code 1. */
async function backupCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BackupError || err instanceof EtcdError || err instanceof EtcdctlError)
      throw new CliError(err.message, 1);
    throw err;
  }
}

function renderEntries(entries: BackupEntry[], dir: string): string {
  if (entries.length === 0)
    return `No snapshots in ${dir} (take one with \`midflight backup save --to ${dir}\`)\n`;
  return renderTable(
    ['SNAPSHOT', 'TAKEN', 'SIZE', 'REVISION', 'KEYS', 'RUN', 'VERIFIED', 'DRILLED'],
    entries.map((e) => [
      e.file,
      e.takenAt,
      formatBytes(e.size),
      e.metadata ? e.metadata.revision : '-',
      e.metadata ? e.metadata.keys : '-',
      e.metadata?.runId ?? '-',
      e.metadata?.verifiedAt ?? (e.metadataProblem ? `- (${e.metadataProblem})` : '-'),
      e.metadata?.drilledAt ?? '-',
    ]),
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
