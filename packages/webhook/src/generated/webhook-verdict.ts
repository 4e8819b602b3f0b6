// Generated from schemas/webhook-verdict.schema.json by scripts/gen-schemas.mjs: do not edit.

/**
 * The verdict on a webhook job: the synchronous response body, and the data of the signed event delivered to callback_url.
 */
export interface WebhookVerdict {
  /**
   * quality.scored: scored (rank, or every candidate passed); quality.rejected: some candidates failed the bar; bestof.selected: a winner was picked; reroll.requested: no candidate passed.
   */
  type: 'quality.scored' | 'quality.rejected' | 'bestof.selected' | 'reroll.requested';
  job_id: string;
  policy: {
    [k: string]: unknown | undefined;
  };
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
    error?: {
      code: string;
      message: string;
    };
  }[];
  /**
   * Ids of the passing candidates, best first.
   */
  passed: string[];
  /**
   * Ids of the scored candidates, best first.
   */
  order: string[];
  /**
   * best-of-n: the best candidate.
   */
  winner?: string;
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
      "description": "quality.scored: scored (rank, or every candidate passed); quality.rejected: some candidates failed the bar; bestof.selected: a winner was picked; reroll.requested: no candidate passed.",
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
      "type": "object",
      "additionalProperties": true
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
          "error": {
            "type": "object",
            "additionalProperties": false,
            "required": [
              "code",
              "message"
            ],
            "properties": {
              "code": {
                "type": "string"
              },
              "message": {
                "type": "string"
              }
            }
          }
        }
      }
    },
    "passed": {
      "description": "Ids of the passing candidates, best first.",
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
      "description": "best-of-n: the best candidate.",
      "type": "string"
    },
    "metadata": {
      "type": "object",
      "additionalProperties": true
    }
  }
} as const;
