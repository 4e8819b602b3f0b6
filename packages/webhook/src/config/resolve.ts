import { Ajv2020 } from 'ajv/dist/2020.js';

import { ConfigError } from '../errors.js';
import { webhookConfigSchema, type Route, type WebhookConfig } from '../generated/webhook-config.js';
import { webhookJobSchema } from '../generated/webhook-job.js';

// A validator of its own: it fills in the schema's defaults, so no default is written twice.
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, useDefaults: true });
ajv.addSchema(webhookJobSchema); // the config refers to the job schema's policy
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
export type CallbackConfig = Defaulted<NonNullable<WebhookConfig['callback']>>;
export type FetchConfig = Defaulted<NonNullable<WebhookConfig['fetch']>>;
export type LimitsConfig = Defaulted<NonNullable<WebhookConfig['limits']>>;
type RedisStoreConfig = Extract<NonNullable<WebhookConfig['store']>, { kind: 'redis' }>;
export type StoreConfig = { kind: 'journal' } | Defaulted<RedisStoreConfig>;

/** The store section with every default filled in. */
export function resolveStore(store: WebhookConfig['store']): StoreConfig {
  if (!store || store.kind === 'journal') return { kind: 'journal' };
  return { prefix: 'clip-agiqa', retention_s: 86_400, lock_ms: 30_000, sync_timeout_ms: 60_000, ...store };
}

/** The configuration as the service uses it: validated once, every default filled in, route rules checked. */
export interface ResolvedConfig {
  host: string;
  port: number;
  dataDir: string;
  routes: Route[];
  /** Signing and retry settings of asynchronous deliveries; null when no callback secret is configured. */
  callback: CallbackConfig | null;
  fetch: FetchConfig;
  limits: LimitsConfig;
  allowUnsigned: boolean;
  store: StoreConfig;
}

/** What each verifier needs on its route, beyond the schema. */
function routeProblems(r: Route, allowUnsigned: boolean): string[] {
  const out: string[] = [];
  const where = `route ${r.path}`;
  if (r.verifier === 'unsigned' && !allowUnsigned) out.push(`${where} is unsigned: set allow_unsigned to accept unauthenticated requests`);
  if (r.verifier === 'standard-webhooks' && !r.secrets?.length) out.push(`${where}: standard-webhooks needs secrets`);
  if (r.verifier === 'fal' && !r.public_keys?.length) out.push(`${where}: fal needs public_keys`);
  if (r.verifier === 'bearer' && !r.tokens?.length) out.push(`${where}: bearer needs tokens`);
  return out;
}

export function resolveConfig(config: WebhookConfig): ResolvedConfig {
  const c = structuredClone(config);
  validateConfig(c);
  const allowUnsigned = c.allow_unsigned ?? false;
  const found = c.routes.flatMap((r) => routeProblems(r, allowUnsigned));
  if (found.length) throw new ConfigError('invalid routes', found);
  return {
    host: c.host!, port: c.port!, dataDir: c.data_dir, routes: c.routes,
    callback: (c.callback as CallbackConfig | undefined) ?? null,
    fetch: c.fetch as FetchConfig, limits: c.limits as LimitsConfig, allowUnsigned, store: resolveStore(c.store),
  };
}
