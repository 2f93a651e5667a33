import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type LoopbackProcess, requireBinary, startLoopbackProcess } from './loopback-binary.ts';

export { requireBinary } from './loopback-binary.ts';

/**
 * A real Alertmanager (Debian's `/usr/bin/prometheus-alertmanager`, 0.25) for tests: on a free loopback
 * port, with a temp storage directory, gossip off (`--cluster.listen-address=` empty: no port on 0.0.0.0)
 * and a minimal config routing everything to a receiver that sends nothing.
 *
 *   describe.skipIf(!alertmanagerAvailable())('…', () => {
 *     const am = await startAlertmanager();
 *     await fetch(`${am.url}/api/v2/silences`, { method: 'POST', … });
 *     await am.stop();
 */

export const ALERTMANAGER_BINARY = '/usr/bin/prometheus-alertmanager';

export type RunningAlertmanager = LoopbackProcess;

export async function startAlertmanager(): Promise<RunningAlertmanager> {
  return startLoopbackProcess({
    binary: ALERTMANAGER_BINARY,
    name: 'alertmanager',
    // Ready when the v2 API answers, which is what every caller (silences, alerts) needs.
    readyPath: '/api/v2/status',
    prepare(dir, port) {
      const config = { route: { receiver: 'null' }, receivers: [{ name: 'null' }] };
      writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));
      return [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ];
    },
  });
}

/** Whether Debian's Alertmanager is installed; see requireBinary for what a missing one does. */
export function alertmanagerAvailable(): boolean {
  return requireBinary('prometheus-alertmanager');
}
