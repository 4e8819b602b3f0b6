// Generated from schemas/score-record.schema.json by scripts/gen-schemas.mjs: do not edit.

import type { WireError } from './defs.js';

/**
 * One scored input, as `clip-agiqa score --json` prints it (one JSON object per line) and as sidecar files and image metadata store it: the score of every head, or a typed error.
 */
export type ScoreRecord =
  | {
      path: string;
      /**
       * Head name -> score, in that head's MOS scale.
       */
      scores: {
        [k: string]: number | undefined;
      };
      /**
       * The prompt the heads that read one (clipscore) scored the image against, when it had one.
       */
      prompt?: string;
      /**
       * Present with a threshold: whether the ranking head's score reached it.
       */
      passed?: boolean;
      /**
       * Present with --top: 1 is the best.
       */
      rank?: number;
      model?: Model;
    }
  | {
      path: string;
      error: WireError;
    };

/**
 * Bundle name and manifest sha256, in sidecars and metadata.
 */
export interface Model {
  name: string;
  manifest_sha256: string;
  trained?: boolean;
}

export const scoreRecordSchema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://clip-agiqa.dev/schemas/score-record.schema.json",
  "title": "ScoreRecord",
  "description": "One scored input, as `clip-agiqa score --json` prints it (one JSON object per line) and as sidecar files and image metadata store it: the score of every head, or a typed error.",
  "oneOf": [
    {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "path",
        "scores"
      ],
      "properties": {
        "path": {
          "type": "string"
        },
        "scores": {
          "description": "Head name -> score, in that head's MOS scale.",
          "type": "object",
          "minProperties": 1,
          "additionalProperties": {
            "type": "number"
          }
        },
        "prompt": {
          "description": "The prompt the heads that read one (clipscore) scored the image against, when it had one.",
          "type": "string"
        },
        "passed": {
          "description": "Present with a threshold: whether the ranking head's score reached it.",
          "type": "boolean"
        },
        "rank": {
          "description": "Present with --top: 1 is the best.",
          "type": "integer",
          "minimum": 1
        },
        "model": {
          "description": "Bundle name and manifest sha256, in sidecars and metadata.",
          "$ref": "#/$defs/model"
        }
      }
    },
    {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "path",
        "error"
      ],
      "properties": {
        "path": {
          "type": "string"
        },
        "error": {
          "$ref": "defs.schema.json#/$defs/error"
        }
      }
    }
  ],
  "$defs": {
    "model": {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "name",
        "manifest_sha256"
      ],
      "properties": {
        "name": {
          "type": "string"
        },
        "manifest_sha256": {
          "type": "string",
          "pattern": "^[0-9a-f]{64}$"
        },
        "trained": {
          "type": "boolean"
        }
      }
    }
  }
} as const;
