import { type Command, Option } from 'commander';
import { buildInventory, type Inventory } from '../../core/index.ts';
import { readClusterSnapshot } from '../cluster-snapshot.ts';
import { parseOutputFormat, renderData, renderTable } from '../output.ts';

export function registerInventoryCommand(program: Command): void {
  program
    .command('inventory')
    .description(
      'show what runs where: control-plane component versions, every node (pool, kubelet, runtime, OS, ' +
        'readiness), node pools, recognised add-ons and counts of CRDs and webhooks',
    )
    .addOption(new Option('-o, --output <format>', 'table, json or yaml').default('table'))
    .option(
      '--pool-label <label>',
      'node label naming pools (tried before the usual cloud and kubeadm labels)',
    )
    .action(async (opts, cmd: Command) => {
      const format = parseOutputFormat(opts.output);
      const snapshot = await readClusterSnapshot(cmd);
      const inventory = buildInventory(snapshot, { poolLabel: opts.poolLabel });
      process.stdout.write(
        format === 'table'
          ? renderInventoryTable(inventory)
          : renderData(inventory, format as 'json' | 'yaml'),
      );
    });
}

const dash = (value: string | undefined) => value || '-';

export function renderInventoryTable(inv: Inventory): string {
  const sections: string[] = [];
  sections.push(
    `Cluster ${inv.server.url}: Kubernetes ${inv.server.version}${inv.server.clusterId ? ` (id ${inv.server.clusterId})` : ''}\n`,
  );
  if (inv.controlPlane.length > 0) {
    sections.push(
      renderTable(
        ['CONTROL PLANE', 'APISERVER', 'CONTROLLER-MANAGER', 'SCHEDULER', 'ETCD'],
        inv.controlPlane.map((m) => [
          m.node,
          dash(m.apiserver),
          dash(m.controllerManager),
          dash(m.scheduler),
          dash(m.etcd),
        ]),
      ),
    );
  } else {
    sections.push('CONTROL PLANE: managed (no control-plane nodes visible)\n');
  }
  sections.push(
    renderTable(
      ['NODE', 'POOL', 'STATUS', 'KUBELET', 'RUNTIME', 'OS-IMAGE', 'KERNEL'],
      inv.nodes.map((n) => [
        n.name,
        n.pool,
        (n.ready ? 'Ready' : 'NotReady') + (n.schedulable ? '' : ',SchedulingDisabled'),
        dash(n.kubelet),
        dash(n.containerRuntime),
        dash(n.osImage),
        dash(n.kernel),
      ]),
    ),
  );
  sections.push(
    renderTable(
      ['POOL', 'NODES', 'READY', 'KUBELETS'],
      inv.pools.map((p) => [p.name, p.nodes, p.ready, p.kubeletVersions.join(', ')]),
    ),
  );
  sections.push(
    inv.addons.length > 0
      ? renderTable(
          ['ADD-ON', 'KIND', 'VERSION', 'WORKLOAD'],
          inv.addons.map((a) => [a.name, a.category, dash(a.version), a.workload]),
        )
      : 'ADD-ONS: none recognised\n',
  );
  const c = inv.counts;
  sections.push(
    `${c.nodes} nodes, ${c.pods} pods, ${c.namespaces} namespaces, ${c.crds} CRDs, ` +
      `${c.validatingWebhooks} validating and ${c.mutatingWebhooks} mutating webhooks, ${c.helmReleases} Helm releases\n`,
  );
  return sections.join('\n');
}
