// Generated from schemas/webhook-verdict.schema.json by scripts/gen-schemas.mjs: do not edit.

import type { WireError, WirePolicy } from '@clip-agiqa/core/internal';

/**
 * The verdict on a webhook job: the synchronous response body, and the data of the signed event delivered to callback_url.
 */
export interface WebhookVerdict {
  /**
   * quality.scored: scored (score, rank, or every candidate passed); quality.rejected: some candidates failed the bar (or best-of had none to pick); bestof.selected: a winner was picked; reroll.requested: no candidate passed.
   */
  type: 'quality.scored' | 'quality.rejected' | 'bestof.selected' | 'reroll.requested';
  job_id: string;
  policy: WirePolicy;
  model: {
    name: string;
    untrained: boolean;
  };
  candidates: {
    id: string;
    scores?: {
      [k: string]: number | undefined;
    };
    passed: boolean;
    /**
     * 1 = best; absent for candidates that could not be scored.
     */
    rank?: number;
    /**
     * Why a scored candidate did not pass, one line each: a bar it missed (a candidate without a score on a barred head, such as clipscore without a prompt, misses that bar), or what kept it from being ranked (no score on the ranking head, or on a head the policy's combine names). Absent when it passed, when its error says why, and for best-of's candidates outside the k best.
     */
    reasons?: string[];
    error?: WireError;
  }[];
  /**
   * Ids of the passing candidates, best first: filter and reroll-if-none-pass: those that reach every bar; best-of (best-of-n): the k best (k 1 by default; before the policy was shared, best-of-n listed every scored candidate here, so read winner for the pick); score and rank: every scored candidate.
   */
  passed: string[];
  /**
   * Ids of the scored candidates, best first.
   */
  order: string[];
  /**
   * best-of (best-of-n): the best candidate.
   */
  winner?: string;
  /**
   * filter and reroll-if-none-pass with a threshold: the bar applied on the ranking head, in its scale (a percentile threshold resolved on this batch).
   */
  threshold?: number;
  metadata?: {
    [k: string]: unknown | undefined;
  };
}

export const webhookVerdictSchema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://clip-agiqa.dev/schemas/webhook-verdict.schema.json",
  "title": "WebhookVerdict",
  "description": "The verdict on a webhook job: the synchronous response body, and the data of the signed event delivered to callback_url.",
  "type": "object",
  "additionalProperties": false,
  "required": [
    "type",
    "job_id",
    "policy",
    "model",
    "candidates",
    "passed",
    "order"
  ],
  "properties": {
    "type": {
      "description": "quality.scored: scored (score, rank, or every candidate passed); quality.rejected: some candidates failed the bar (or best-of had none to pick); bestof.selected: a winner was picked; reroll.requested: no candidate passed.",
      "enum": [
        "quality.scored",
        "quality.rejected",
        "bestof.selected",
        "reroll.requested"
      ]
    },
    "job_id": {
      "type": "string"
    },
    "policy": {
      "description": "The job's policy, echoed as it was sent: a deprecated mode spelling (best-of-n, gate) comes back unchanged, so a client that compares it keeps working; type, passed and winner are decided by the current meaning of the mode.",
      "$ref": "defs.schema.json#/$defs/policy"
    },
    "model": {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "name",
        "untrained"
      ],
      "properties": {
        "name": {
          "type": "string"
        },
        "untrained": {
          "type": "boolean"
        }
      }
    },
    "candidates": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "id",
          "passed"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "scores": {
            "type": "object",
            "additionalProperties": {
              "type": "number"
            }
          },
          "passed": {
            "type": "boolean"
          },
          "rank": {
            "description": "1 = best; absent for candidates that could not be scored.",
            "type": "integer",
            "minimum": 1
          },
          "reasons": {
            "description": "Why a scored candidate did not pass, one line each: a bar it missed (a candidate without a score on a barred head, such as clipscore without a prompt, misses that bar), or what kept it from being ranked (no score on the ranking head, or on a head the policy's combine names). Absent when it passed, when its error says why, and for best-of's candidates outside the k best.",
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "error": {
            "$ref": "defs.schema.json#/$defs/error"
          }
        }
      }
    },
    "passed": {
      "description": "Ids of the passing candidates, best first: filter and reroll-if-none-pass: those that reach every bar; best-of (best-of-n): the k best (k 1 by default; before the policy was shared, best-of-n listed every scored candidate here, so read winner for the pick); score and rank: every scored candidate.",
      "type": "array",
      "items": {
        "type": "string"
      }
    },
    "order": {
      "description": "Ids of the scored candidates, best first.",
      "type": "array",
      "items": {
        "type": "string"
      }
    },
    "winner": {
      "description": "best-of (best-of-n): the best candidate.",
      "type": "string"
    },
    "threshold": {
      "description": "filter and reroll-if-none-pass with a threshold: the bar applied on the ranking head, in its scale (a percentile threshold resolved on this batch).",
      "type": "number"
    },
    "metadata": {
      "type": "object",
      "additionalProperties": true
    }
  }
} as const;
