// Generated from schemas/webhook-config.schema.json by scripts/gen-schemas.mjs: do not edit.

import type { WirePolicy } from '@clip-agiqa/core/internal';

/**
 * Configuration of clip-agiqa serve (from a JSON file, then environment variables, then flags).
 */
export interface WebhookConfig {
  host?: string;
  port?: number;
  /**
   * Bundle folder or URL; the demo model when absent.
   */
  model?: string;
  device?: 'cpu' | 'cuda' | 'webgpu' | 'auto';
  /**
   * Where accepted jobs, downloaded images and pending deliveries are kept (journal and blobs).
   */
  data_dir: string;
  /**
   * @minItems 1
   */
  routes: [Route, ...Route[]];
  /**
   * Signed delivery of asynchronous verdicts: the secret that signs events (a route's callback_secret overrides it), retries, and the private ranges callbacks may reach.
   */
  callback?: {
    /**
     * whsec_ secret (at least 16 bytes) that signs delivered events (Standard Webhooks), for routes without their own callback_secret.
     */
    secret?: string;
    max_attempts?: number;
    initial_backoff_ms?: number;
    max_backoff_ms?: number;
    timeout_ms?: number;
    /**
     * CIDR ranges that callbacks may reach although they are private, e.g. 10.0.0.0/8 for a receiver on the internal network. Image URLs have their own list (fetch.allow).
     */
    allow?: string[];
    /**
     * Deliveries in flight at once (after a restart many verdicts can be due together).
     */
    concurrency?: number;
  };
  /**
   * Retry policy of fetching and scoring an asynchronous job, the same on every store: a failed attempt is retried after a jittered exponential backoff; after max_attempts the job is dead, with its last error (GET /jobs, /metrics). `clip-agiqa serve requeue-dead` queues dead jobs again.
   */
  scoring?: {
    max_attempts?: number;
    initial_backoff_ms?: number;
    max_backoff_ms?: number;
  };
  fetch?: {
    /**
     * CIDR ranges that image URLs may reach although they are private, e.g. 10.0.0.0/8 for an internal image store. Callbacks have their own list (callback.allow).
     */
    allow?: string[];
    /**
     * Largest image file, downloaded or inline.
     */
    max_bytes?: number;
    timeout_ms?: number;
    max_redirects?: number;
    /**
     * Largest image in pixels (width x height, read from its header before decoding); larger ones fail with TOO_MANY_PIXELS.
     */
    max_pixels?: number;
  };
  limits?: {
    /**
     * Largest request body a hook takes, unless its route sets body_bytes. A job carrying image URLs needs kilobytes; raise it on routes that send images inline (base64).
     */
    body_bytes?: number;
    /**
     * Largest job metadata (its JSON, in bytes) a hook takes, unless its route sets metadata_bytes. Metadata is stored with the job until its retention ends and echoed in the verdict, so keep it to ids and labels.
     */
    metadata_bytes?: number;
    /**
     * Jobs scored at once.
     */
    concurrency?: number;
    /**
     * Jobs accepted but not yet scored, beyond which new ones get 503.
     */
    queue?: number;
    /**
     * Hook requests in progress beyond the scoring slots (concurrency); more get 429 with Retry-After.
     */
    sync_waiting?: number;
    /**
     * Time a client has to send a request's headers.
     */
    headers_timeout_ms?: number;
    /**
     * Time a client has to send a hook request's body once its headers are in; slower uploads get 408 and are cut off.
     */
    body_timeout_ms?: number;
    /**
     * Hook bodies read at once, across all clients, before their signature could be checked (standard-webhooks, fal, unsigned routes). Beyond it a newcomer takes the slot of the slowest upload under way for at least 1 s (which gets 503 TOO_MANY_UPLOADS); when there is none, the newcomer gets it. Bearer routes check the token before reading and do not count.
     */
    uploads?: number;
    /**
     * Unauthenticated hook bodies read at once from one client address (an IPv6 client: its /64); more get 429 ADDRESS_UPLOAD_LIMIT with Retry-After.
     */
    uploads_per_address?: number;
    /**
     * Bytes all unauthenticated hook bodies may buffer together; a body that would pass it is cut off with 503 TOO_MANY_UPLOADS.
     */
    upload_bytes?: number;
    /**
     * Bytes the unauthenticated hook bodies of one client address may buffer together (one body may always reach its route's body limit); beyond it, 429 ADDRESS_UPLOAD_LIMIT.
     */
    upload_bytes_per_address?: number;
    /**
     * Slowest average rate a hook body may arrive at, judged from 5 s after its headers; slower bodies get 408 UPLOAD_TOO_SLOW and are cut off (0: no minimum, only body_timeout_ms).
     */
    upload_min_bytes_per_s?: number;
    /**
     * On SIGTERM: time to finish requests and jobs in progress before the remaining connections are closed (unfinished jobs stay stored for the next start).
     */
    shutdown_grace_ms?: number;
    /**
     * Memory budget for images across all jobs: a download reserves fetch.max_bytes first; a job is admitted before any of its candidates is decoded, with room for its largest candidate (encoded bytes + 8 bytes a pixel, 11 for a 2x2 grid). A job waits for room; a candidate larger than the whole budget fails alone (OVER_MEMORY_BUDGET).
     */
    memory_bytes?: number;
    /**
     * How long a synchronous request waits for room in the memory budget, for a download slot and for a scoring slot, each, before 503 MEMORY_BUSY, DOWNLOADS_BUSY or SCORING_BUSY (asynchronous jobs wait as long as it takes).
     */
    memory_wait_ms?: number;
  };
  /**
   * Answers to accepted messages (by webhook-id, fal request id or Idempotency-Key) are kept this long: a retry within it gets the original answer without new work. Longer than senders retry (Svix: about 28 hours).
   */
  idempotency?: {
    retention_hours?: number;
  };
  /**
   * Must be true for any route with verifier unsigned.
   */
  allow_unsigned?: boolean;
  /**
   * Where accepted jobs live. journal: on local disk (data_dir, an LMDB database; journals of earlier versions are imported at start), one machine. redis: in Redis, with BullMQ as the queue, shared by any number of API replicas and workers (clip-agiqa serve --role); local disk is then only a cache.
   */
  store?:
    | {
        kind: 'journal';
        /**
         * How long a delivered or dead job stays readable at /jobs/:id; it is then removed from disk. Default 86400.
         */
        retention_s?: number;
      }
    | {
        kind: 'redis';
        /**
         * redis://[USER:PASSWORD@]HOST:PORT/DB or rediss:// (TLS). Run Redis with appendonly yes (appendfsync always: no acknowledged job is lost; everysec: up to a second of acceptances at risk on a power loss).
         */
        url: string;
        /**
         * Prefix of every key (the service's records and BullMQ's queues); services sharing one Redis use different prefixes. Default clip-agiqa.
         */
        prefix?: string;
        /**
         * How long a delivered or dead job stays readable at /jobs/:id. Default 86400.
         */
        retention_s?: number;
        /**
         * How long a worker's claim on a job lasts without renewal: a worker that dies hands its jobs to others after this long. Default 30000.
         */
        lock_ms?: number;
        /**
         * How long an API replica waits for a worker's verdict on a synchronous request before answering 503. Default 60000.
         */
        sync_timeout_ms?: number;
        /**
         * How long clip-agiqa serve waits at start for a Redis that refuses connections or does not answer (/healthz answers, /readyz is 503 meanwhile) before it exits non-zero. Refused credentials, a missing ACL permission or a TLS mismatch exit at once. Default 60.
         */
        connect_wait_s?: number;
      };
}
export interface Route {
  /**
   * Served at POST /hooks/<path>.
   */
  path: string;
  verifier: 'standard-webhooks' | 'fal' | 'bearer' | 'unsigned';
  /**
   * standard-webhooks: whsec_ secrets; any one verifies (rotation).
   *
   * @minItems 1
   */
  secrets?: [string, ...string[]];
  /**
   * fal: ED25519 public keys, base64 (32 raw bytes) or PEM.
   *
   * @minItems 1
   */
  public_keys?: [string, ...string[]];
  /**
   * bearer: accepted tokens.
   *
   * @minItems 1
   */
  tokens?: [string, ...string[]];
  /**
   * How the payload maps to a job: generic (the job schema), replicate (a prediction), fal (a queue result).
   */
  adapter?: 'generic' | 'replicate' | 'fal';
  /**
   * Largest request body this route takes (limits.body_bytes when absent); raise it for inline base64 images.
   */
  body_bytes?: number;
  /**
   * Largest job metadata (its JSON, in bytes) this route takes (limits.metadata_bytes when absent).
   */
  metadata_bytes?: number;
  policy?: WirePolicy;
  /**
   * Where verdicts of this route's jobs go when the payload names none.
   */
  callback_url?: string;
  /**
   * whsec_ secret (at least 16 bytes) that signs this route's delivered events, so one tenant's events never verify at another's receiver; callback.secret when absent.
   */
  callback_secret?: string;
  /**
   * replicate, fal: every output image is a 2x2 grid of four candidates.
   */
  split_grids?: boolean;
}

export const webhookConfigSchema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://clip-agiqa.dev/schemas/webhook-config.schema.json",
  "title": "WebhookConfig",
  "description": "Configuration of clip-agiqa serve (from a JSON file, then environment variables, then flags).",
  "type": "object",
  "additionalProperties": false,
  "required": [
    "data_dir",
    "routes"
  ],
  "properties": {
    "host": {
      "type": "string",
      "default": "127.0.0.1"
    },
    "port": {
      "type": "integer",
      "minimum": 0,
      "maximum": 65535,
      "default": 8787
    },
    "model": {
      "description": "Bundle folder or URL; the demo model when absent.",
      "type": "string"
    },
    "device": {
      "enum": [
        "cpu",
        "cuda",
        "webgpu",
        "auto"
      ]
    },
    "data_dir": {
      "description": "Where accepted jobs, downloaded images and pending deliveries are kept (journal and blobs).",
      "type": "string"
    },
    "routes": {
      "type": "array",
      "minItems": 1,
      "items": {
        "$ref": "#/$defs/route"
      }
    },
    "callback": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "secret": {
          "description": "whsec_ secret (at least 16 bytes) that signs delivered events (Standard Webhooks), for routes without their own callback_secret.",
          "type": "string",
          "pattern": "^(whsec_)?[A-Za-z0-9+/=]{16,}$"
        },
        "max_attempts": {
          "type": "integer",
          "minimum": 1,
          "maximum": 100,
          "default": 10
        },
        "initial_backoff_ms": {
          "type": "integer",
          "minimum": 1,
          "default": 1000
        },
        "max_backoff_ms": {
          "type": "integer",
          "minimum": 1,
          "default": 3600000
        },
        "timeout_ms": {
          "type": "integer",
          "minimum": 1,
          "default": 10000
        },
        "allow": {
          "description": "CIDR ranges that callbacks may reach although they are private, e.g. 10.0.0.0/8 for a receiver on the internal network. Image URLs have their own list (fetch.allow).",
          "type": "array",
          "items": {
            "type": "string"
          },
          "default": []
        },
        "concurrency": {
          "description": "Deliveries in flight at once (after a restart many verdicts can be due together).",
          "type": "integer",
          "minimum": 1,
          "default": 8
        }
      },
      "default": {},
      "description": "Signed delivery of asynchronous verdicts: the secret that signs events (a route's callback_secret overrides it), retries, and the private ranges callbacks may reach."
    },
    "scoring": {
      "description": "Retry policy of fetching and scoring an asynchronous job, the same on every store: a failed attempt is retried after a jittered exponential backoff; after max_attempts the job is dead, with its last error (GET /jobs, /metrics). `clip-agiqa serve requeue-dead` queues dead jobs again.",
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "max_attempts": {
          "type": "integer",
          "minimum": 1,
          "maximum": 100,
          "default": 5
        },
        "initial_backoff_ms": {
          "type": "integer",
          "minimum": 1,
          "default": 1000
        },
        "max_backoff_ms": {
          "type": "integer",
          "minimum": 1,
          "default": 60000
        }
      },
      "default": {}
    },
    "fetch": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "allow": {
          "description": "CIDR ranges that image URLs may reach although they are private, e.g. 10.0.0.0/8 for an internal image store. Callbacks have their own list (callback.allow).",
          "type": "array",
          "items": {
            "type": "string"
          },
          "default": []
        },
        "max_bytes": {
          "type": "integer",
          "minimum": 1,
          "default": 33554432,
          "description": "Largest image file, downloaded or inline."
        },
        "timeout_ms": {
          "type": "integer",
          "minimum": 1,
          "default": 15000
        },
        "max_redirects": {
          "type": "integer",
          "minimum": 0,
          "maximum": 10,
          "default": 3
        },
        "max_pixels": {
          "description": "Largest image in pixels (width x height, read from its header before decoding); larger ones fail with TOO_MANY_PIXELS.",
          "type": "integer",
          "minimum": 1,
          "default": 64000000
        }
      },
      "default": {}
    },
    "limits": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "body_bytes": {
          "description": "Largest request body a hook takes, unless its route sets body_bytes. A job carrying image URLs needs kilobytes; raise it on routes that send images inline (base64).",
          "type": "integer",
          "minimum": 1024,
          "default": 262144
        },
        "metadata_bytes": {
          "description": "Largest job metadata (its JSON, in bytes) a hook takes, unless its route sets metadata_bytes. Metadata is stored with the job until its retention ends and echoed in the verdict, so keep it to ids and labels.",
          "type": "integer",
          "minimum": 0,
          "default": 16384
        },
        "concurrency": {
          "description": "Jobs scored at once.",
          "type": "integer",
          "minimum": 1,
          "default": 4
        },
        "queue": {
          "description": "Jobs accepted but not yet scored, beyond which new ones get 503.",
          "type": "integer",
          "minimum": 1,
          "default": 256
        },
        "sync_waiting": {
          "description": "Hook requests in progress beyond the scoring slots (concurrency); more get 429 with Retry-After.",
          "type": "integer",
          "minimum": 0,
          "default": 32
        },
        "headers_timeout_ms": {
          "description": "Time a client has to send a request's headers.",
          "type": "integer",
          "minimum": 100,
          "default": 10000
        },
        "body_timeout_ms": {
          "description": "Time a client has to send a hook request's body once its headers are in; slower uploads get 408 and are cut off.",
          "type": "integer",
          "minimum": 100,
          "default": 30000
        },
        "uploads": {
          "description": "Hook bodies read at once, across all clients, before their signature could be checked (standard-webhooks, fal, unsigned routes). Beyond it a newcomer takes the slot of the slowest upload under way for at least 1 s (which gets 503 TOO_MANY_UPLOADS); when there is none, the newcomer gets it. Bearer routes check the token before reading and do not count.",
          "type": "integer",
          "minimum": 1,
          "default": 1024
        },
        "uploads_per_address": {
          "description": "Unauthenticated hook bodies read at once from one client address (an IPv6 client: its /64); more get 429 ADDRESS_UPLOAD_LIMIT with Retry-After.",
          "type": "integer",
          "minimum": 1,
          "default": 8
        },
        "upload_bytes": {
          "description": "Bytes all unauthenticated hook bodies may buffer together; a body that would pass it is cut off with 503 TOO_MANY_UPLOADS.",
          "type": "integer",
          "minimum": 1024,
          "default": 67108864
        },
        "upload_bytes_per_address": {
          "description": "Bytes the unauthenticated hook bodies of one client address may buffer together (one body may always reach its route's body limit); beyond it, 429 ADDRESS_UPLOAD_LIMIT.",
          "type": "integer",
          "minimum": 1024,
          "default": 1048576
        },
        "upload_min_bytes_per_s": {
          "description": "Slowest average rate a hook body may arrive at, judged from 5 s after its headers; slower bodies get 408 UPLOAD_TOO_SLOW and are cut off (0: no minimum, only body_timeout_ms).",
          "type": "integer",
          "minimum": 0,
          "default": 1024
        },
        "shutdown_grace_ms": {
          "description": "On SIGTERM: time to finish requests and jobs in progress before the remaining connections are closed (unfinished jobs stay stored for the next start).",
          "type": "integer",
          "minimum": 0,
          "default": 10000
        },
        "memory_bytes": {
          "description": "Memory budget for images across all jobs: a download reserves fetch.max_bytes first; a job is admitted before any of its candidates is decoded, with room for its largest candidate (encoded bytes + 8 bytes a pixel, 11 for a 2x2 grid). A job waits for room; a candidate larger than the whole budget fails alone (OVER_MEMORY_BUDGET).",
          "type": "integer",
          "minimum": 1048576,
          "default": 536870912
        },
        "memory_wait_ms": {
          "description": "How long a synchronous request waits for room in the memory budget, for a download slot and for a scoring slot, each, before 503 MEMORY_BUSY, DOWNLOADS_BUSY or SCORING_BUSY (asynchronous jobs wait as long as it takes).",
          "type": "integer",
          "minimum": 0,
          "default": 30000
        }
      },
      "default": {}
    },
    "idempotency": {
      "description": "Answers to accepted messages (by webhook-id, fal request id or Idempotency-Key) are kept this long: a retry within it gets the original answer without new work. Longer than senders retry (Svix: about 28 hours).",
      "type": "object",
      "additionalProperties": false,
      "default": {},
      "properties": {
        "retention_hours": {
          "type": "number",
          "exclusiveMinimum": 0,
          "default": 72
        }
      }
    },
    "allow_unsigned": {
      "description": "Must be true for any route with verifier unsigned.",
      "type": "boolean",
      "default": false
    },
    "store": {
      "description": "Where accepted jobs live. journal: on local disk (data_dir, an LMDB database; journals of earlier versions are imported at start), one machine. redis: in Redis, with BullMQ as the queue, shared by any number of API replicas and workers (clip-agiqa serve --role); local disk is then only a cache.",
      "oneOf": [
        {
          "type": "object",
          "additionalProperties": false,
          "required": [
            "kind"
          ],
          "properties": {
            "kind": {
              "const": "journal"
            },
            "retention_s": {
              "description": "How long a delivered or dead job stays readable at /jobs/:id; it is then removed from disk. Default 86400.",
              "type": "integer",
              "minimum": 1
            }
          }
        },
        {
          "type": "object",
          "additionalProperties": false,
          "required": [
            "kind",
            "url"
          ],
          "properties": {
            "kind": {
              "const": "redis"
            },
            "url": {
              "description": "redis://[USER:PASSWORD@]HOST:PORT/DB or rediss:// (TLS). Run Redis with appendonly yes (appendfsync always: no acknowledged job is lost; everysec: up to a second of acceptances at risk on a power loss).",
              "type": "string",
              "pattern": "^rediss?://"
            },
            "prefix": {
              "description": "Prefix of every key (the service's records and BullMQ's queues); services sharing one Redis use different prefixes. Default clip-agiqa.",
              "type": "string",
              "pattern": "^[A-Za-z0-9_.-]+$"
            },
            "retention_s": {
              "description": "How long a delivered or dead job stays readable at /jobs/:id. Default 86400.",
              "type": "integer",
              "minimum": 1
            },
            "lock_ms": {
              "description": "How long a worker's claim on a job lasts without renewal: a worker that dies hands its jobs to others after this long. Default 30000.",
              "type": "integer",
              "minimum": 1000
            },
            "sync_timeout_ms": {
              "description": "How long an API replica waits for a worker's verdict on a synchronous request before answering 503. Default 60000.",
              "type": "integer",
              "minimum": 100
            },
            "connect_wait_s": {
              "description": "How long clip-agiqa serve waits at start for a Redis that refuses connections or does not answer (/healthz answers, /readyz is 503 meanwhile) before it exits non-zero. Refused credentials, a missing ACL permission or a TLS mismatch exit at once. Default 60.",
              "type": "number",
              "minimum": 0
            }
          }
        }
      ],
      "default": {
        "kind": "journal"
      }
    }
  },
  "$defs": {
    "route": {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "path",
        "verifier"
      ],
      "properties": {
        "path": {
          "description": "Served at POST /hooks/<path>.",
          "type": "string",
          "pattern": "^[a-z0-9][a-z0-9_-]*$"
        },
        "verifier": {
          "enum": [
            "standard-webhooks",
            "fal",
            "bearer",
            "unsigned"
          ]
        },
        "secrets": {
          "description": "standard-webhooks: whsec_ secrets; any one verifies (rotation).",
          "type": "array",
          "items": {
            "type": "string"
          },
          "minItems": 1
        },
        "public_keys": {
          "description": "fal: ED25519 public keys, base64 (32 raw bytes) or PEM.",
          "type": "array",
          "items": {
            "type": "string"
          },
          "minItems": 1
        },
        "tokens": {
          "description": "bearer: accepted tokens.",
          "type": "array",
          "items": {
            "type": "string",
            "minLength": 16
          },
          "minItems": 1
        },
        "adapter": {
          "description": "How the payload maps to a job: generic (the job schema), replicate (a prediction), fal (a queue result).",
          "enum": [
            "generic",
            "replicate",
            "fal"
          ],
          "default": "generic"
        },
        "body_bytes": {
          "description": "Largest request body this route takes (limits.body_bytes when absent); raise it for inline base64 images.",
          "type": "integer",
          "minimum": 1024
        },
        "metadata_bytes": {
          "description": "Largest job metadata (its JSON, in bytes) this route takes (limits.metadata_bytes when absent).",
          "type": "integer",
          "minimum": 0
        },
        "policy": {
          "description": "Policy of jobs whose payload has none (replicate, fal).",
          "$ref": "defs.schema.json#/$defs/policy"
        },
        "callback_url": {
          "description": "Where verdicts of this route's jobs go when the payload names none.",
          "type": "string",
          "pattern": "^https?://"
        },
        "callback_secret": {
          "description": "whsec_ secret (at least 16 bytes) that signs this route's delivered events, so one tenant's events never verify at another's receiver; callback.secret when absent.",
          "type": "string",
          "pattern": "^(whsec_)?[A-Za-z0-9+/=]{16,}$"
        },
        "split_grids": {
          "description": "replicate, fal: every output image is a 2x2 grid of four candidates.",
          "type": "boolean",
          "default": false
        }
      }
    }
  }
} as const;
