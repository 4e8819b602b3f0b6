// Writes to a disk store without pause until it is killed: unfinished jobs (each acknowledged on stdout once
// its write resolved) and finished ones dated long ago, which a sweep running all the while removes again.
import { DiskStore } from '@clip-agiqa/webhook';

import { jobRecord } from './webhook-store-suite.js';

const store = await DiskStore.open(process.argv[2]!, { retentionMs: 1000 });
let sweeping: Promise<void> = Promise.resolve();
for (let i = 0; ; i++) {
  await store.accept(jobRecord(`open-${i}`));
  process.stdout.write(`ack open-${i}\n`);
  const old = jobRecord(`old-${i}`, 'queued', 0);
  await store.accept(old);
  await Promise.all(Array.from({ length: 20 }, (_, k) => store.accept({ ...jobRecord(`old-${i}-${k}`, 'delivered', 0), job: { ...old.job, metadata: { pad: 'x'.repeat(4000) } } })));
  await store.update({ ...old, state: 'delivered' });
  sweeping = sweeping.then(() => store.sweep());
}
