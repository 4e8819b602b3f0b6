// Restart cost of the disk store against the size of its finished history: for each size, a journal
// of an earlier version with that many delivered jobs (3.2 KB each, like real ones) and 100 unfinished
// ones is imported once, then the store is opened again as a restart does. Each open runs in a fresh
// process, which reports its time and RSS.
//   node --import tsx bench/webhook-restart.ts [--history 10000,100000,1000000]
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { DiskStore } from '@clip-agiqa/webhook';

const UNFINISHED = 100;

/** In a child: opens the store, lists the unfinished jobs, prints time and RSS as JSON. */
async function openAndReport(dir: string): Promise<void> {
  const started = performance.now();
  const store = await DiskStore.open(dir);
  const opened = performance.now();
  const unfinished = (await store.unfinished()).length;
  const listed = performance.now();
  await store.close();
  process.stdout.write(JSON.stringify({ openMs: opened - started, unfinishedMs: listed - opened, unfinished, rssMb: process.memoryUsage().rss / 2 ** 20 }));
}

function writeJournal(file: string, finished: number): void {
  const fd = openSync(file, 'w');
  const now = Date.now();
  const pad = 'x'.repeat(2600);
  const line = (id: string, state: string) => `${JSON.stringify({
    id, route: 'jobs', state, job: { job_id: id, callback_url: 'https://receiver.example/cb', candidates: [{ url: 'https://cdn.example/a.png' }, { url: 'https://cdn.example/b.png' }], policy: { mode: 'best-of' }, metadata: { pad } },
    blobs: [null, null], fetchErrors: [null, null], delivery: { url: 'https://receiver.example/cb', webhookId: `msg_${id}`, attempts: 1, nextAt: 0 }, acceptedAt: now, updatedAt: now,
  })}\n`;
  let buffered = '';
  for (let i = 0; i < finished; i++) {
    buffered += line(`done-${i}`, 'delivered');
    if (buffered.length > 1 << 22) { writeSync(fd, buffered); buffered = ''; }
  }
  for (let i = 0; i < UNFINISHED; i++) buffered += line(`open-${i}`, 'queued');
  writeSync(fd, buffered);
  closeSync(fd);
}

function child(dir: string): { openMs: number; unfinishedMs: number; unfinished: number; rssMb: number; wallMs: number } {
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { ...JSON.parse(r.stdout), wallMs: performance.now() - started };
}

export function restartBench(sizes: number[]): void {
  console.log(`restart vs history (disk store, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores): ${UNFINISHED} unfinished jobs each time`);
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'clip-agiqa-restart-'));
    try {
      writeJournal(join(dir, 'journal.jsonl'), n);
      const journalMb = statSync(join(dir, 'journal.jsonl')).size / 2 ** 20;
      const first = child(dir);
      const again = child(dir);
      const storeMb = statSync(join(dir, 'store.lmdb')).size / 2 ** 20;
      if (again.unfinished !== UNFINISHED) throw new Error(`${again.unfinished} unfinished jobs after the restart`);
      console.log(`  ${n} finished jobs: journal ${journalMb.toFixed(0)} MB imported in ${(first.openMs / 1000).toFixed(1)} s (RSS ${first.rssMb.toFixed(0)} MB); `
        + `restart: open ${again.openMs.toFixed(1)} ms + unfinished ${again.unfinishedMs.toFixed(1)} ms, process ${again.wallMs.toFixed(0)} ms, RSS ${again.rssMb.toFixed(0)} MB; store ${storeMb.toFixed(0)} MB`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const { values } = parseArgs({ strict: false, options: { child: { type: 'string' }, history: { type: 'string', default: '10000,100000,1000000' } } });
if (values.child) await openAndReport(String(values.child));
else if (process.argv[1] === fileURLToPath(import.meta.url)) restartBench(String(values.history).split(',').map(Number));
