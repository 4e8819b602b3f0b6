// Generated from schemas/webhook-job.schema.json by scripts/gen-schemas.mjs: do not edit.

import type { WirePolicy } from '@clip-agiqa/core/internal';

/**
 * Exactly one of url and base64.
 */
export type Candidate = {
  id?: string;
  /**
   * http(s) URL of the image, fetched at once (platform links expire).
   */
  url?: string;
  /**
   * The image file, base64-encoded.
   */
  base64?: string;
  prompt?: string;
  /**
   * 2x2: the image is a Midjourney-style grid of four candidates, scored as <id>-1 ... <id>-4, row by row.
   */
  grid?: '2x2';
} & Candidate1 & {
    id?: string;
    /**
     * http(s) URL of the image, fetched at once (platform links expire).
     */
    url?: string;
    /**
     * The image file, base64-encoded.
     */
    base64?: string;
    prompt?: string;
    /**
     * 2x2: the image is a Midjourney-style grid of four candidates, scored as <id>-1 ... <id>-4, row by row.
     */
    grid?: '2x2';
  } & Candidate1;
export type Candidate1 =
  | {
      url: string;
    }
  | {
      base64: string;
    };

/**
 * A generation job sent to clip-agiqa serve (version 1): candidate images and what to decide about them. Without callback_url the verdict is the HTTP response; with it the service answers 202 and delivers the verdict there as a signed event. The policy is the shared one (defs.schema.json#/$defs/policy): score, rank, filter, best-of (the k best, k 1 by default) or reroll-if-none-pass; best-of-n is the deprecated spelling of best-of (a job posted with it is decided as best-of with k 1) and gate that of filter; both are still accepted.
 */
export interface WebhookJob {
  /**
   * Payload version.
   */
  version?: 1;
  /**
   * The generator's id of the job; verdicts and GET /jobs/:id use it.
   */
  job_id: string;
  /**
   * The prompt every candidate was generated from (a candidate's own prompt wins): heads that read one (clipscore) score each candidate against it.
   */
  prompt?: string;
  /**
   * @minItems 1
   * @maxItems 64
   */
  candidates: [Candidate, ...Candidate[]];
  policy: WirePolicy;
  /**
   * Deliver the verdict here (asynchronous mode).
   */
  callback_url?: string;
  /**
   * Echoed back in the verdict.
   */
  metadata?: {
    [k: string]: unknown | undefined;
  };
}

export const webhookJobSchema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://clip-agiqa.dev/schemas/webhook-job.schema.json",
  "title": "WebhookJob",
  "description": "A generation job sent to clip-agiqa serve (version 1): candidate images and what to decide about them. Without callback_url the verdict is the HTTP response; with it the service answers 202 and delivers the verdict there as a signed event. The policy is the shared one (defs.schema.json#/$defs/policy): score, rank, filter, best-of (the k best, k 1 by default) or reroll-if-none-pass; best-of-n is the deprecated spelling of best-of (a job posted with it is decided as best-of with k 1) and gate that of filter; both are still accepted.",
  "type": "object",
  "additionalProperties": false,
  "required": [
    "job_id",
    "candidates",
    "policy"
  ],
  "properties": {
    "version": {
      "description": "Payload version.",
      "const": 1
    },
    "job_id": {
      "description": "The generator's id of the job; verdicts and GET /jobs/:id use it.",
      "type": "string",
      "pattern": "^[A-Za-z0-9._:-]{1,128}$"
    },
    "prompt": {
      "description": "The prompt every candidate was generated from (a candidate's own prompt wins): heads that read one (clipscore) score each candidate against it.",
      "type": "string",
      "maxLength": 10000
    },
    "candidates": {
      "type": "array",
      "minItems": 1,
      "maxItems": 64,
      "items": {
        "$ref": "#/$defs/candidate"
      }
    },
    "policy": {
      "$ref": "#/$defs/policy"
    },
    "callback_url": {
      "description": "Deliver the verdict here (asynchronous mode).",
      "type": "string",
      "pattern": "^https?://",
      "maxLength": 2048
    },
    "metadata": {
      "description": "Echoed back in the verdict.",
      "type": "object",
      "additionalProperties": true
    }
  },
  "$defs": {
    "candidate": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "id": {
          "type": "string",
          "pattern": "^[A-Za-z0-9._:-]{1,128}$"
        },
        "url": {
          "description": "http(s) URL of the image, fetched at once (platform links expire).",
          "type": "string",
          "maxLength": 4096
        },
        "base64": {
          "description": "The image file, base64-encoded.",
          "type": "string",
          "contentEncoding": "base64"
        },
        "prompt": {
          "type": "string",
          "maxLength": 10000
        },
        "grid": {
          "description": "2x2: the image is a Midjourney-style grid of four candidates, scored as <id>-1 ... <id>-4, row by row.",
          "enum": [
            "2x2"
          ]
        }
      },
      "oneOf": [
        {
          "required": [
            "url"
          ],
          "properties": {
            "url": {
              "type": "string"
            }
          }
        },
        {
          "required": [
            "base64"
          ],
          "properties": {
            "base64": {
              "type": "string"
            }
          }
        }
      ],
      "description": "Exactly one of url and base64."
    },
    "policy": {
      "$ref": "defs.schema.json#/$defs/policy"
    }
  }
} as const;
