// Builds a job from image files (sent inline) or URLs, signs it with the route's Standard Webhooks
// secret and posts it; prints the service's answer (the verdict, or 202 with the job id).
//   node examples/webhooks/send-job.mjs --mode best-of [--threshold 3.2] [--callback URL] IMAGE_OR_URL...
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import { signedHeaders } from '@clip-agiqa/webhook';

const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  url: { type: 'string', default: 'http://127.0.0.1:8787/hooks/generation' },
  secret: { type: 'string', default: 'whsec_ZXhhbXBsZSBzZWNyZXQgLSByZXBsYWNlIG1lIQ==' },
  mode: { type: 'string', default: 'best-of' }, threshold: { type: 'string' }, callback: { type: 'string' },
} });
const job = {
  job_id: `job-${randomUUID()}`,
  candidates: positionals.map((p) => (/^https?:/.test(p) ? { url: p } : { id: basename(p), base64: readFileSync(p).toString('base64') })),
  policy: { mode: values.mode, ...(values.threshold ? { thresholds: { quality: Number(values.threshold) } } : {}) },
  ...(values.callback ? { callback_url: values.callback } : {}),
};
const body = JSON.stringify(job);
const response = await fetch(values.url, {
  method: 'POST', body, headers: { 'content-type': 'application/json', ...signedHeaders(values.secret, `msg_${randomUUID()}`, body) },
});
console.log(response.status, JSON.stringify(await response.json(), null, 2));
