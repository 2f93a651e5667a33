#!/usr/bin/env node
// The installed command runs the JavaScript that `npm run build` (run by `prepare`, so by `npm ci`) put in
// dist/: no compiler at start-up. MIDFLIGHT_SOURCE=1 runs the TypeScript sources instead, through tsx (a
// development dependency): the tests set it, so processes they spawn never run a stale build.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (process.env.MIDFLIGHT_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else if (existsSync(built)) {
  await import(built.href);
} else {
  process.stderr.write('error: midflight is not built: run `npm run build` (or `npm ci`) in its folder\n');
  process.exitCode = 1;
}
