// Runs the test files of one tier (or all), each in its own Node process (TypeScript through tsx).
//   node test/run.mjs [unit|parity|e2e|all] [--jobs N] [--dir DIR] [SUBSTRING...]
// Tiers by file name: x.parity.test.ts (Python/PyTorch references), x.e2e.test.ts (packed installs,
// Chromium, Redis, killed processes, spawned services), every other x.test.ts is a unit test; `all`
// runs the three tiers one after the other. --dir runs the files of another folder (default: test/).
// A file's report is printed whole when it ends; the summary names the ten slowest files.
// Under CI=true a skipped test fails the run: every service a test needs is installed there.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Unit files are independent and short: they share the cores. The other tiers time services and
// processes, so they run one file at a time.
const TIERS = {
  unit: { jobs: Math.max(1, availableParallelism()), has: (f) => !/\.(parity|e2e)\.test\.ts$/.test(f) },
  parity: { jobs: 1, has: (f) => f.endsWith('.parity.test.ts') },
  e2e: { jobs: 1, has: (f) => f.endsWith('.e2e.test.ts') },
};

const args = process.argv.slice(2);
const tier = args[0] === 'all' || Object.hasOwn(TIERS, args[0] ?? '') ? args.shift() : 'unit';
/** Removes `--name VALUE` from args; its value, if given. */
function option(name) {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
}
const jobsOption = option('--jobs');
if (jobsOption !== undefined && !(Number.isInteger(Number(jobsOption)) && Number(jobsOption) >= 1)) throw new Error('--jobs takes a positive integer');
const here = resolve(option('--dir') ?? dirname(fileURLToPath(import.meta.url)));
const testFiles = readdirSync(here)
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => args.length === 0 || args.some((o) => f.includes(o)))
  .sort();
const plan = (tier === 'all' ? Object.keys(TIERS) : [tier]).map((name) => ({
  name, jobs: jobsOption === undefined ? TIERS[name].jobs : Number(jobsOption), files: testFiles.filter((f) => TIERS[name].has(f)),
}));
const files = plan.flatMap((p) => p.files);
const reporter = process.stdout.isTTY ? 'spec' : 'tap';

// A runner started from inside a test would otherwise speak node:test's child protocol instead of TAP.
const { NODE_TEST_CONTEXT: _context, ...inherited } = process.env;
const childEnv = { ...inherited, ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}) };

/** One file in its own `node --test` process; its output is kept until it ends. */
function runFile(file) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', '--test-reporter=tap', '--test-reporter-destination=stderr', join(here, file)],
      { env: childEnv });
    let report = '';
    let tap = '';
    child.stdout.on('data', (d) => { report += d; });
    child.stderr.on('data', (d) => { tap += d; });
    child.on('close', (status, signal) => resolve({ file, status: status ?? signal, seconds: (performance.now() - started) / 1000, report, tap }));
  });
}

/** Counts from a file's TAP summary (`# tests 12`, ...). */
function counts(tap) {
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
  return { tests: count('tests'), pass: count('pass'), fail: count('fail'), skipped: count('skipped'), todo: count('todo'), cancelled: count('cancelled') };
}

const started = performance.now();
const results = [];
for (const { files: queue, jobs } of plan) {
  await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const r = await runFile(file);
      process.stdout.write(`\n# ${file} (${r.seconds.toFixed(1)} s)\n${r.report}`);
      // Anything the file wrote to stderr besides the TAP copy (a crash before the first test) is shown.
      if (!/^# tests \d+$/m.test(r.tap)) process.stdout.write(r.tap);
      results.push(r);
    }
  }));
}

const total = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
for (const r of results) for (const [k, v] of Object.entries(counts(r.tap))) total[k] += v;
// A file that ended without its summary (killed, or crashed while loading) failed whatever its status.
const failedFiles = results.filter((r) => r.status !== 0 || !/^# tests \d+$/m.test(r.tap));
const skipped = results.flatMap((r) => r.tap.split('\n').filter((line) => /^\s*ok \d+ - .* # SKIP/.test(line)).map((line) => `${r.file}: ${line.trim()}`));

console.log(`\n${tier}: ${files.length} files, ${total.tests} tests, ${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped, ${total.todo} todo, ${total.cancelled} cancelled in ${((performance.now() - started) / 1000).toFixed(1)} s (${plan.map((p) => `${p.name} ${p.jobs} at a time`).join(', ')})`);
console.log('Slowest files:');
for (const r of [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 10)) console.log(`  ${r.seconds.toFixed(1).padStart(7)} s  ${r.file}`);
if (failedFiles.length > 0) console.error(`Failed: ${failedFiles.map((r) => r.file).join(', ')}`);
if (process.env.CI === 'true' && skipped.length > 0) {
  console.error(`CI=true: ${skipped.length} test(s) skipped, which CI does not allow:\n${skipped.map((l) => `  ${l}`).join('\n')}`);
  process.exit(1);
}
process.exit(failedFiles.length === 0 && files.length > 0 ? 0 : 1);
