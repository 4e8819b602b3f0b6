import { Ajv2020 } from 'ajv/dist/2020.js';

import type { ModelInfo } from '@clip-agiqa/core';
import { defsSchema } from '@clip-agiqa/core/internal';

import { ConfigError } from '../errors.js';
import { webhookConfigSchema, type Route, type WebhookConfig } from '../generated/webhook-config.js';
import { parseAllowList } from '../net/ip.js';
import { allowListProblem, policyProblem, routeProblems, secretProblem } from './rules.js';

// A validator of its own: it fills in the schema's defaults, so no default is written twice.
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, useDefaults: true });
ajv.addSchema(defsSchema); // a route's policy is the shared one
const validate = ajv.compile<WebhookConfig>(webhookConfigSchema);

function problems(): string[] {
  return (validate.errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
    return `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${extra}`;
  });
}

/** Checks a configuration against webhook-config.schema.json, listing every problem; fills in defaults in place. */
export function validateConfig(config: unknown): asserts config is WebhookConfig {
  if (!validate(config)) throw new ConfigError('invalid configuration', problems());
}

type Defaulted<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };
export type CallbackConfig = Omit<Defaulted<NonNullable<WebhookConfig['callback']>>, 'secret'> & { secret?: string };
export type FetchConfig = Defaulted<NonNullable<WebhookConfig['fetch']>>;
export type LimitsConfig = Defaulted<NonNullable<WebhookConfig['limits']>>;
export type ScoringConfig = Defaulted<NonNullable<WebhookConfig['scoring']>>;
type RedisStoreConfig = Extract<NonNullable<WebhookConfig['store']>, { kind: 'redis' }>;
type DiskStoreConfig = Extract<NonNullable<WebhookConfig['store']>, { kind: 'journal' }>;
export type StoreConfig = Defaulted<DiskStoreConfig> | Defaulted<RedisStoreConfig>;

/** The store section with every default filled in. */
export function resolveStore(store: WebhookConfig['store']): StoreConfig {
  if (!store || store.kind === 'journal') return { kind: 'journal', retention_s: 86_400, ...store };
  return { prefix: 'clip-agiqa', retention_s: 86_400, lock_ms: 30_000, sync_timeout_ms: 60_000, connect_wait_s: 60, ...store };
}

/** The configuration as the service uses it: validated once, every default filled in, route rules checked. */
export interface ResolvedConfig {
  host: string;
  port: number;
  dataDir: string;
  routes: Route[];
  /** Signing, retry and reach of asynchronous deliveries. */
  callback: CallbackConfig;
  fetch: FetchConfig;
  limits: LimitsConfig;
  /** Retry policy of fetching and scoring asynchronous jobs. */
  scoring: ScoringConfig;
  allowUnsigned: boolean;
  idempotency: Defaulted<NonNullable<WebhookConfig['idempotency']>>;
  store: StoreConfig;
}

/** Validates and completes a configuration, or throws a ConfigError listing every problem. */
export function resolveConfig(config: WebhookConfig): ResolvedConfig {
  const c = structuredClone(config);
  validateConfig(c);
  const callback = c.callback as CallbackConfig;
  const fetch = c.fetch as FetchConfig;
  const allowUnsigned = c.allow_unsigned ?? false;
  const found: string[] = [];
  const fetchAllow = allowListProblem(fetch.allow);
  if (fetchAllow) found.push(`fetch.allow: ${fetchAllow}`);
  const callbackAllow = allowListProblem(callback.allow);
  if (callbackAllow) found.push(`callback.allow: ${callbackAllow}`);
  if (callback.secret !== undefined) {
    const p = secretProblem(callback.secret);
    if (p) found.push(`callback.secret ${p}`);
  }
  const limits = c.limits as LimitsConfig;
  if (limits.memory_bytes < fetch.max_bytes) found.push(`limits.memory_bytes (${limits.memory_bytes}) is below fetch.max_bytes (${fetch.max_bytes}): no download would fit`);
  const seen = new Set<string>();
  for (const r of c.routes) {
    if (seen.has(r.path)) found.push(`duplicate route path ${r.path}: each route needs its own`);
    seen.add(r.path);
    found.push(...routeProblems(r, allowUnsigned, parseAllowList(callbackAllow ? [] : callback.allow)));
  }
  if (found.length) throw new ConfigError('invalid configuration', found);
  return {
    host: c.host!, port: c.port!, dataDir: c.data_dir, routes: c.routes, callback, fetch, limits, scoring: c.scoring as ScoringConfig, allowUnsigned,
    idempotency: c.idempotency as ResolvedConfig['idempotency'], store: resolveStore(c.store),
  };
}

/** Route policies the model cannot apply, e.g. naming a head it lacks (a typo would make reroll-if-none-pass reroll forever). */
export function checkPolicies(config: ResolvedConfig, model: ModelInfo): void {
  const found = config.routes.flatMap((r) => {
    const problem = r.policy ? policyProblem(r.policy, model) : null;
    return problem ? [`route ${r.path}: ${problem.message}`] : [];
  });
  if (found.length) throw new ConfigError('invalid configuration', found);
}
