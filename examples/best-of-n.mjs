// Best-of-N selection: score N candidates of one generation, keep the best, drop what falls below a bar.
//   node examples/best-of-n.mjs [MODEL] [THRESHOLD]
// MODEL is any bundle: the demo model (the default: the mechanics are real, the scores mean nothing), an
// imported CLIP (`clip-agiqa import`: zero-shot heads in [0, 1]) or a trained one. Ranking uses the
// model's first head, whatever its name and scale. Without THRESHOLD the better half passes.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { createScorer, DEMO_MODEL_DIR, untrainedWarning } from '@clip-agiqa/core';

const model = process.argv[2] ?? DEMO_MODEL_DIR;
const threshold = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const dir = new URL('./images/', import.meta.url).pathname;
const candidates = readdirSync(dir).sort().map((f) => join(dir, f));

const scorer = await createScorer({ model, batchSize: 8 });
try {
  const warning = untrainedWarning(scorer.model);
  if (warning) console.error(`note: ${warning}.`);
  const head = scorer.model.heads[0];
  const [low, high] = head.scoreRange;
  console.log(`head ${head.name}: ${low} to ${high}, ${head.higherIsBetter ? 'higher' : 'lower'} is better`);
  const { best, ranked, failed } = await scorer.bestOf(candidates, { head: head.name });
  for (const r of ranked) console.log(`#${r.rank}  ${r.scores[head.name].toFixed(3)}  ${r.id}`);
  for (const f of failed) console.log(`failed  ${f.id}: [${f.error.code}] ${f.error.message}`);
  console.log(`best: ${best?.id ?? 'none'}`);

  const policy = threshold === undefined ? { head: head.name, topPercent: 50 } : { head: head.name, threshold };
  const { passed, rejected } = await scorer.filter(candidates, policy);
  const bar = threshold === undefined ? 'the top 50%' : `${head.name} ${threshold}`;
  console.log(`${passed.length} pass ${bar}, ${rejected.length} would be rerolled`);
} finally {
  await scorer.close();
}
