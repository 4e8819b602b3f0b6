// Generated from schemas/defs.schema.json by scripts/gen-schemas.mjs: do not edit.

/**
 * Definitions every wire format shares: the error object and the policy that decides which candidates pass and which wins. Wire formats refer to them as defs.schema.json#/$defs/NAME.
 */
export interface Definitions {
  [k: string]: unknown | undefined;
}
/**
 * An error, as every clip-agiqa error's toJSON() writes it.
 *
 * This interface was referenced by `Definitions`'s JSON-Schema
 * via the `definition` "error".
 */
export interface WireError {
  /**
   * Stable machine-readable error code, e.g. CORRUPT_IMAGE, TOO_MANY_PIXELS, UNSAFE_FORMAT.
   */
  code: string;
  message: string;
  /**
   * The image, file or bundle the error concerns, when there is one.
   */
  input?: string;
}
/**
 * What to decide about scored candidates. Ranking is by `head`, best first, the right way round for that head (ascending where lower is better); a bar is reached with >= where higher is better and <= where lower is. One rule everywhere a policy is taken (library, webhook service, ComfyUI bridge): filter and reroll-if-none-pass need a bar (threshold or thresholds) and are the only modes that take one; only best-of reads k (1 when absent); threshold_kind percentile needs a threshold within 0-100; every head named must be one of the model's.
 *
 * This interface was referenced by `Definitions`'s JSON-Schema
 * via the `definition` "policy".
 */
export interface WirePolicy {
  /**
   * score: scores only; rank: order them; filter: which reach the bars (threshold, thresholds); best-of: the k best (the winner first); reroll-if-none-pass: filter, and ask for a reroll when none passes. Deprecated spellings, still accepted: gate (= filter), best-of-n (= best-of).
   */
  mode: 'score' | 'rank' | 'filter' | 'best-of' | 'reroll-if-none-pass' | 'gate' | 'best-of-n';
  /**
   * The head that ranks, and that `threshold` reads (the model's first by default).
   */
  head?: string;
  /**
   * filter: the bar on `head`, in its MOS scale, or as a percentile (0-100) of this batch's scores with threshold_kind percentile.
   */
  threshold?: number;
  /**
   * How `threshold` reads: in the head's MOS scale, or as a percentile (0-100) of the batch.
   */
  threshold_kind?: 'absolute' | 'percentile';
  /**
   * filter, reroll-if-none-pass: a bar per head; a candidate passes when every one is reached.
   */
  thresholds?: {
    [k: string]: number | undefined;
  };
  /**
   * best-of: how many to keep.
   */
  k?: number;
}

export const defsSchema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://clip-agiqa.dev/schemas/defs.schema.json",
  "title": "Definitions",
  "description": "Definitions every wire format shares: the error object and the policy that decides which candidates pass and which wins. Wire formats refer to them as defs.schema.json#/$defs/NAME.",
  "$defs": {
    "error": {
      "title": "WireError",
      "description": "An error, as every clip-agiqa error's toJSON() writes it.",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "code",
        "message"
      ],
      "properties": {
        "code": {
          "description": "Stable machine-readable error code, e.g. CORRUPT_IMAGE, TOO_MANY_PIXELS, UNSAFE_FORMAT.",
          "type": "string",
          "pattern": "^[A-Z][A-Z0-9_]*$"
        },
        "message": {
          "type": "string"
        },
        "input": {
          "description": "The image, file or bundle the error concerns, when there is one.",
          "type": "string"
        }
      }
    },
    "policy": {
      "title": "WirePolicy",
      "description": "What to decide about scored candidates. Ranking is by `head`, best first, the right way round for that head (ascending where lower is better); a bar is reached with >= where higher is better and <= where lower is. One rule everywhere a policy is taken (library, webhook service, ComfyUI bridge): filter and reroll-if-none-pass need a bar (threshold or thresholds) and are the only modes that take one; only best-of reads k (1 when absent); threshold_kind percentile needs a threshold within 0-100; every head named must be one of the model's.",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "mode"
      ],
      "properties": {
        "mode": {
          "description": "score: scores only; rank: order them; filter: which reach the bars (threshold, thresholds); best-of: the k best (the winner first); reroll-if-none-pass: filter, and ask for a reroll when none passes. Deprecated spellings, still accepted: gate (= filter), best-of-n (= best-of).",
          "enum": [
            "score",
            "rank",
            "filter",
            "best-of",
            "reroll-if-none-pass",
            "gate",
            "best-of-n"
          ]
        },
        "head": {
          "description": "The head that ranks, and that `threshold` reads (the model's first by default).",
          "type": "string"
        },
        "threshold": {
          "description": "filter: the bar on `head`, in its MOS scale, or as a percentile (0-100) of this batch's scores with threshold_kind percentile.",
          "type": "number"
        },
        "threshold_kind": {
          "description": "How `threshold` reads: in the head's MOS scale, or as a percentile (0-100) of the batch.",
          "enum": [
            "absolute",
            "percentile"
          ],
          "default": "absolute"
        },
        "thresholds": {
          "description": "filter, reroll-if-none-pass: a bar per head; a candidate passes when every one is reached.",
          "type": "object",
          "minProperties": 1,
          "additionalProperties": {
            "type": "number"
          }
        },
        "k": {
          "description": "best-of: how many to keep.",
          "type": "integer",
          "minimum": 1,
          "default": 1
        }
      }
    }
  }
} as const;
