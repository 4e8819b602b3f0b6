import { fromWirePolicy, PolicyError, type ModelInfo, type WireError, type WirePolicy } from '@clip-agiqa/core';

import { ConfigError } from '../errors.js';
import type { Route } from '../generated/webhook-config.js';

/** Why a job's metadata is refused (larger than `limit` bytes of JSON), or null. */
export function metadataProblem(metadata: object | undefined, limit: number): string | null {
  if (metadata === undefined) return null;
  const bytes = Buffer.byteLength(JSON.stringify(metadata));
  return bytes > limit ? `metadata is ${bytes} bytes of JSON; this route takes at most ${limit}` : null;
}

/**
 * Why core cannot apply a policy with this model, as a wire error, or null: core's one policy check, so
 * the service refuses exactly what the library and the ComfyUI bridge refuse. Checked when a job is
 * accepted (and a route's policy at start-up), so none fails after its 202.
 */
export function policyProblem(policy: WirePolicy, model: ModelInfo): WireError | null {
  try {
    fromWirePolicy(policy, model.heads);
    return null;
  } catch (e) {
    if (e instanceof PolicyError) return e.toJSON();
    throw e;
  }
}

/** Route policies the model cannot apply, e.g. naming a head it lacks (a typo would make reroll-if-none-pass reroll forever). */
export function checkRoutePolicies(routes: readonly Route[], model: ModelInfo): void {
  const found = routes.flatMap((r) => {
    const problem = r.policy ? policyProblem(r.policy, model) : null;
    return problem ? [`route ${r.path}: ${problem.message}`] : [];
  });
  if (found.length) throw new ConfigError('invalid configuration', found);
}
