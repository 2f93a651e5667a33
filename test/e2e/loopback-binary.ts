import { existsSync } from 'node:fs';
import {
  freeLoopbackPort,
  type LoopbackDaemon,
  type LoopbackDaemonOptions,
  startLoopbackDaemon,
} from '../../src/observe/index.ts';

/**
 * Starting a real daemon (Prometheus, Alertmanager) for a test: on a free loopback port, in a temp
 * directory of its own, stopped by its process id (src/observe/loopback-daemon.ts, which the demo uses
 * too). Shared by prometheus-harness.ts and alertmanager-harness.ts.
 */

/**
 * Whether `/usr/bin/<name>` (or `name`, when it is a path) is there. Locally a missing binary only skips
 * the tests that need it, with a message saying what to install; under CI (`process.env.CI` set) it throws,
 * so the test file fails: CI installs it (.ci/run), and a skip there would hide a broken install.
 *
 *   describe.skipIf(!requireBinary('prometheus'))('gates on real Prometheus', () => { … });
 *   requireBinary('promtool', 'prometheus')   // the binary ships in another package
 */
export function requireBinary(name: string, debianPackage = name): boolean {
  const path = name.startsWith('/') ? name : `/usr/bin/${name}`;
  if (existsSync(path)) return true;
  const message = `${path} is missing: install the Debian package "${debianPackage}" (apt-get install ${debianPackage}) to run these tests`;
  if (process.env.CI) throw new Error(`${message}; CI must have it (.ci/run installs it)`);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

export { freeLoopbackPort };
export type LoopbackProcess = LoopbackDaemon;
export type LoopbackProcessOptions = LoopbackDaemonOptions;
export const startLoopbackProcess = startLoopbackDaemon;
