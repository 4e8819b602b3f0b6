import { readFile } from 'node:fs/promises';

import { ConfigError } from '../errors.js';
import type { WebhookConfig } from '../generated/webhook-config.js';
import { validateConfig } from './resolve.js';

/** Environment variables that override the file: CLIP_AGIQA_HOST, _PORT, _MODEL, _DATA_DIR, _CALLBACK_SECRET. */
function fromEnv(env: NodeJS.ProcessEnv): Partial<WebhookConfig> {
  const out: Partial<WebhookConfig> = {};
  if (env.CLIP_AGIQA_HOST) out.host = env.CLIP_AGIQA_HOST;
  if (env.CLIP_AGIQA_PORT) out.port = Number(env.CLIP_AGIQA_PORT);
  if (env.CLIP_AGIQA_MODEL) out.model = env.CLIP_AGIQA_MODEL;
  if (env.CLIP_AGIQA_DATA_DIR) out.data_dir = env.CLIP_AGIQA_DATA_DIR;
  return out;
}

/** The configuration: the JSON file, then environment variables, then flags; validated by webhook-config.schema.json. */
export async function loadConfig(file: string | undefined, overrides: Partial<WebhookConfig> = {}, env = process.env): Promise<WebhookConfig> {
  let base: unknown = {};
  if (file) {
    const text = await readFile(file, 'utf8').catch((e: Error) => { throw new ConfigError(`cannot read ${file}: ${e.message}`); });
    try {
      base = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`${file} is not JSON: ${(e as Error).message}`);
    }
  }
  const merged = { ...(base as object), ...fromEnv(env), ...overrides } as WebhookConfig;
  if (env.CLIP_AGIQA_CALLBACK_SECRET) merged.callback = { ...merged.callback, secret: env.CLIP_AGIQA_CALLBACK_SECRET };
  return validateConfig(merged);
}
