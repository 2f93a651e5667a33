#!/usr/bin/env node
// The installed command runs the JavaScript that `npm run build` (run by `prepare`, so by `npm ci`) put in
// dist/: no compiler at start-up. MIDFLIGHT_SOURCE=1 runs the TypeScript sources instead, through tsx (a
// development dependency). MIDFLIGHT_DIST=DIR runs the build in DIR: the test run builds the sources once
// into a temporary package and sets it (test/build-for-tests.ts), so the processes it spawns neither run a
// stale dist/ nor pay tsx's start-up (seconds of CPU each).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * `rehearse` runs a whole simulated cluster in this process and allocates objects that mostly die within
 * milliseconds; with V8's default young generation (16 MB semi-spaces) they are still alive at the next
 * scavenge, get copied and promoted, and garbage collection took a third of a large rehearsal's CPU.
 * 64 MB semi-spaces: 64 % fewer scavenges and 3 % less CPU at large/5, 1 % at 1,000 workers (bench/rehearse-scale.ts,
 * measured under load: see the commit). V8 sizes the young generation when
 * the process starts (v8.setFlagsFromString afterwards changes nothing: measured on Node 20), so the
 * command starts itself again with the flag, once, unless the user already chose a size.
 */
const REHEARSAL_NODE_FLAGS = ['--max-semi-space-size=64'];
/** Set in the restarted process: it must not restart again. */
const RESTARTED = 'MIDFLIGHT_NODE_FLAGS';

function needsRestart(args) {
  if (process.env[RESTARTED] || !args.includes('rehearse')) return false;
  const chosen = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  return !/--max-semi-space-size/.test(chosen);
}

/** Runs this command again with REHEARSAL_NODE_FLAGS; its exit code (or signal) becomes this process's. */
function restartWithNodeFlags(args) {
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...REHEARSAL_NODE_FLAGS, fileURLToPath(import.meta.url), ...args],
    { stdio: 'inherit', env: { ...process.env, [RESTARTED]: REHEARSAL_NODE_FLAGS.join(' ') } },
  );
  // Note: a signal sent to this process alone (kill PID) is passed on; a terminal's Ctrl-C reaches both.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    process.stderr.write(`error: could not start ${process.execPath}: ${err.message}\n`);
    process.exitCode = 1;
  });
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
  });
}

const built = process.env.MIDFLIGHT_DIST
  ? pathToFileURL(join(process.env.MIDFLIGHT_DIST, 'cli', 'main.js'))
  : new URL('../dist/cli/main.js', import.meta.url);
if (needsRestart(process.argv.slice(2))) {
  restartWithNodeFlags(process.argv.slice(2));
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
