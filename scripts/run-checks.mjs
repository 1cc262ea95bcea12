#!/usr/bin/env node
// Every check Ferry has, in order: the system packages the tests need (installed when missing),
// typecheck, lint, unit tests, end-to-end tests. Test runs write JSON reports that are added up
// into the closing line `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
const env = {
  ...process.env,
  PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  FORCE_COLOR: '0',
};

const packagesDir = path.join(root, 'packages');
const reportDirs = readdirSync(packagesDir).map((name) => path.join(packagesDir, name, '.reports'));
for (const dir of reportDirs) rmSync(dir, { recursive: true, force: true });

const steps = [
  ['typecheck and lint', ['run', 'typecheck', 'lint', '--concurrency=2']],
  ['unit tests', ['run', 'test', '--concurrency=1']],
  ['end-to-end tests', ['run', 'e2e', '--concurrency=1']],
];
const failedSteps = [];
// If it fails, the rest still runs: the tests that need the packages then fail and say why.
console.log('=== system packages ===');
const deps = spawnSync(process.execPath, [path.join(root, 'scripts', 'system-deps.mjs')], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (deps.status !== 0) failedSteps.push('system packages');
for (const [title, args] of steps) {
  console.log(`\n=== ${title} ===`);
  const result = spawnSync(bin('turbo'), [...args, '--continue=always', '--output-logs=full', '--log-order=stream'], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  if (result.status !== 0) failedSteps.push(title);
}

let passed = 0;
let failed = 0;
for (const dir of reportDirs) {
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.json'))) {
    const report = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    // A test file that fails to load has no failed tests of its own; count it once.
    if ((report.numFailedTests ?? 0) === 0) failed += report.numFailedTestSuites ?? 0;
  }
}
if (failedSteps.length > 0) console.log(`\nFailed: ${failedSteps.join(', ')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failedSteps.length > 0 || failed > 0 ? 1 : 0);
