// Regenerate until CLIP-AGIQA passes an image (or attempts run out, then keep the best), through
// ComfyUI's API. The default workflow needs no model weights (its colour plays the seed); pass your
// own API-format workflow and its seed input for real generations. Any model works (CLIP_AGIQA_MODEL: the demo
// model, an imported CLIP, a trained one): it scores with the model's first head; THRESHOLD defaults to 70%
// of the way up that head's score range.
//   node examples/comfyui/reroll.mjs [WORKFLOW.json] [SEED_NODE.INPUT] [THRESHOLD] [MAX_ATTEMPTS]
//   e.g. node examples/comfyui/reroll.mjs my-workflow.json 5.seed 3.4 6
import { readFileSync } from 'node:fs';

import { ComfyClient, rerollUntil } from '@clip-agiqa/comfyui';
import { createScorer, DEMO_MODEL_DIR } from '@clip-agiqa/core';

const [workflowFile = new URL('./best-of-n-colour.json', import.meta.url).pathname, seedNode = '1.color', threshold, maxAttempts = '5'] = process.argv.slice(2);
const comfy = new ComfyClient(process.env.COMFYUI_URL ?? 'http://127.0.0.1:8188');
const scorer = await createScorer({ model: process.env.CLIP_AGIQA_MODEL ?? DEMO_MODEL_DIR });
const head = scorer.model.heads[0];
const [low, high] = head.scoreRange;
const bar = threshold === undefined ? low + 0.7 * (high - low) : Number(threshold);
try {
  const result = await rerollUntil({
    runner: comfy,
    workflow: JSON.parse(readFileSync(workflowFile, 'utf8')),
    seedNodes: [seedNode],
    maxSeed: seedNode.endsWith('.color') ? 0xffffff : undefined,
    threshold: bar,
    maxAttempts: Number(maxAttempts),
    score: async (images) => (await scorer.score(images)).map((o) => ('scores' in o ? o.scores[head.name] : NaN)),
    onAttempt: ({ index, seed, best }) => console.log(`attempt ${index + 1}: seed ${seed} -> ${best ? best.score.toFixed(3) : 'nothing scored'}`),
  });
  console.log(result.passed ? `passed: seed ${result.best.seed}` : `none passed; best was seed ${result.best?.seed} (${result.best?.score.toFixed(3)})`);
} finally {
  await comfy.close();
  await scorer.close();
}
