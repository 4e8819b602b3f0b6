import { compileSchemaWithDefaults } from '@clip-agiqa/core/internal';

import { ConfigError } from '../errors.js';
import { webhookConfigSchema, type Route, type WebhookConfig } from '../generated/webhook-config.js';
import { parseAllowList } from '../net/ip.js';
import { allowListProblem, routeProblems, secretProblem } from './rules.js';

// Core's validator that fills in the schema's defaults, so no default is written twice.
const validate = compileSchemaWithDefaults<WebhookConfig>(webhookConfigSchema);

/** A configuration checked against webhook-config.schema.json, listing every problem: a copy with every default filled in. */
export function validateConfig(config: unknown): WebhookConfig {
  const checked = validate(config);
  if (!checked.ok) throw new ConfigError('invalid configuration', checked.errors);
  return checked.value;
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
  const c = validateConfig(config);
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
