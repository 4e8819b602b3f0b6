// Best-of-N selection: score N candidates of one generation, keep the best, drop what falls below a bar.
//   node examples/best-of-n.mjs [MODEL_DIR] [THRESHOLD]
// Without MODEL_DIR it uses the untrained demo model: the mechanics are real, the scores mean nothing.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { createScorer, DEMO_MODEL_DIR, untrainedWarning } from '@clip-agiqa/core';

const model = process.argv[2] ?? DEMO_MODEL_DIR;
const threshold = Number(process.argv[3] ?? 3.15);
const dir = new URL('./images/', import.meta.url).pathname;
const candidates = readdirSync(dir).sort().map((f) => join(dir, f));

const scorer = await createScorer({ model, batchSize: 8 });
try {
  const warning = untrainedWarning(scorer.model);
  if (warning) console.error(`note: ${warning}.`);
  const { best, ranked, failed } = await scorer.bestOf(candidates);
  for (const r of ranked) console.log(`#${r.rank}  ${r.scores.quality.toFixed(3)}  ${r.id}`);
  for (const f of failed) console.log(`failed  ${f.id}: [${f.error.code}] ${f.error.message}`);
  console.log(`best: ${best?.id ?? 'none'}`);

  const { passed, rejected } = await scorer.filter(candidates, { threshold });
  console.log(`${passed.length} pass ${threshold}, ${rejected.length} would be rerolled`);
} finally {
  await scorer.close();
}
