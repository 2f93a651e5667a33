#!/usr/bin/env node
// The installed command runs the JavaScript that `npm run build` (run by `prepare`, so by `npm ci`) put in
// dist/: no compiler at start-up. MIDFLIGHT_SOURCE=1 runs the TypeScript sources instead, through tsx (a
// development dependency). MIDFLIGHT_DIST=DIR runs the build in DIR: the test run builds the sources once
// into a temporary package and sets it (test/build-for-tests.ts), so the processes it spawns neither run a
// stale dist/ nor pay tsx's start-up (seconds of CPU each).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rehearsalNodeFlags, restartWithNodeFlags } from './rehearsal-node-flags.js';

const args = process.argv.slice(2);
// Note: `rehearse` runs a whole simulated cluster in this process: see rehearsal-node-flags.js.
const nodeFlags = args.includes('rehearse') ? rehearsalNodeFlags() : [];

const built = process.env.MIDFLIGHT_DIST
  ? pathToFileURL(join(process.env.MIDFLIGHT_DIST, 'cli', 'main.js'))
  : new URL('../dist/cli/main.js', import.meta.url);
if (nodeFlags.length > 0) {
  restartWithNodeFlags(fileURLToPath(import.meta.url), args, nodeFlags);
} else if (process.env.MIDFLIGHT_SOURCE === '1' && !process.env.MIDFLIGHT_DIST) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else if (existsSync(built)) {
  await import(built.href);
} else {
  process.stderr.write('error: midflight is not built: run `npm run build` (or `npm ci`) in its folder\n');
  process.exitCode = 1;
}
