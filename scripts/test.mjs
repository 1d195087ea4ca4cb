#!/usr/bin/env node
// Runs every test file (src/**/*.test.ts and test/**/*.test.ts) with node's test runner.
// Usage: npm test [-- <path filter>...]   e.g. npm test -- router admin
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e === 'node_modules') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = [...walk('src'), ...walk('test')]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=2',
  '--test-timeout=180000',
  '--test-force-exit',
];
if (process.env.CI) args.push('--test-reporter=spec');
const r = spawnSync(process.execPath, [...args, ...files], {
  stdio: 'inherit',
  env: { ...process.env, PORTCULLIS_LOG_LEVEL: process.env.PORTCULLIS_LOG_LEVEL ?? 'warn' },
});
process.exit(r.status ?? 1);
