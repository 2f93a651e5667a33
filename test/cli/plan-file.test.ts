/**
 * What `midflight apply FILE` says about a plan file it refuses, before it reads any cluster: one line that
 * names the file, where in it, and what is wrong. A file cut off short is not "changed after it was written".
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCli } from './run-cli.ts';

const PLAN_YAML = readFileSync(join(import.meta.dirname, '../plan/golden/demo.plan.yaml'), 'utf8');
const PLAN_JSON = JSON.stringify(parse(PLAN_YAML), null, 2);
/** The first `lines` lines of a text, each whole: a copy interrupted between two writes. */
const firstLines = (text: string, lines: number) => `${text.split('\n').slice(0, lines).join('\n')}\n`;

describe('apply refuses a plan file in one clear line (exit 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-plan-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each<[string, string, RegExp]>([
    [
      'YAML cut off between two lines',
      firstLines(PLAN_YAML, 200),
      /^error: plan file \S+ is not a complete plan: it ends at line 200 without its last fields \(estimate, warnings\), as a file cut off does; write it again with `midflight plan/,
    ],
    [
      'YAML cut off in the middle of a line',
      PLAN_YAML.slice(0, PLAN_YAML.indexOf('\n', 6000) - 7),
      // Where the cut falls decides which: inside a quoted string, or after a plain word.
      /^error: plan file \S+ is not a complete plan: (it ends at line \d+ without its last fields \(estimate, warnings\)|its YAML stops at line \d+, column \d+ before the document is closed)/,
    ],
    [
      'JSON cut off inside a string',
      // Three characters into a step's title: inside a string whatever the plan's content.
      PLAN_JSON.slice(0, PLAN_JSON.indexOf('"title": "', 5000) + '"title": "'.length + 3),
      /^error: plan file \S+ is not a complete plan: its JSON stops at line \d+, column \d+ before the document is closed \(Missing closing "quote\), as a file cut off does/,
    ],
    [
      'JSON cut off between two fields',
      PLAN_JSON.slice(0, PLAN_JSON.indexOf('\n', 3000) + 1),
      /^error: plan file \S+ is not a complete plan: its JSON stops at line \d+, column \d+ before the document is closed/,
    ],
    [
      'a YAML syntax error at the end of a long line',
      `schemaVersion: midflight.dev/plan/v1\nid: ${'x'.repeat(100)} : b: c\n`,
      /^error: plan file \S+:2:5 is not valid YAML: Nested mappings are not allowed in compact mappings$/,
    ],
    [
      'a list, not a plan',
      '- a\n- b\n',
      /^error: plan refused \(invalid\): this is not a valid plan: \(root\): must be a mapping that starts schemaVersion: midflight.dev\/plan\/v1, got a list$/,
    ],
    ['empty', '', /^error: plan refused \(invalid\): .*got nothing \(an empty file\?\)$/],
    [
      'edited by hand',
      stringify({ ...parse(PLAN_YAML), warnings: ['looks fine to me'] }),
      /^error: plan refused \(edited\): plan plan-\w+ was changed after it was written/,
    ],
  ])('%s', async (_, content, message) => {
    const file = join(dir, 'plan.yaml');
    writeFileSync(file, content);
    const { code, stdout, stderr } = await runCli('apply', file, '--state', join(dir, 'state.db'));
    expect(stderr.trimEnd()).toMatch(message);
    // One line, and each problem said once.
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/(\(root\)[^(]*)\1|column \d+:$/);
    expect(stdout).toBe('');
    expect(code).toBe(2);
  });
});
