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
 * What to decide about scored candidates. Ranking is by `head`, or by `combine` over several heads, best first, the right way round for each head (ascending where lower is better); a bar is reached with >= where higher is better and <= where lower is. One rule everywhere a policy is taken (library, webhook service, ComfyUI bridge, CLI): filter and reroll-if-none-pass need a bar (threshold or thresholds) and are the only modes that take one; only best-of reads k (1 when absent); threshold_kind percentile needs a threshold within 0-100; every head named (head, thresholds, combine) must be one of the model's; `combine` takes the place of `head` and of the single `threshold` (a combination has no one scale to put a bar on): with it, bars are per head (`thresholds`). A candidate missing a score that a bar reads (a prompt head when no prompt was sent) does not pass; one missing a score the ranking reads is not ranked, and so passes nothing.
 *
 * This interface was referenced by `Definitions`'s JSON-Schema
 * via the `definition` "policy".
 */
export interface WirePolicy {
  /**
   * score: scores only; rank: order them; filter: which reach the bars (threshold, thresholds); best-of: the k best (the winner first); reroll-if-none-pass: filter, and ask for a reroll when no candidate reaches every bar; when some do, they pass best first, so the pick is the best of them by the ranking (`head` or `combine`). Deprecated spellings, still accepted: gate (= filter), best-of-n (= best-of).
   */
  mode: 'score' | 'rank' | 'filter' | 'best-of' | 'reroll-if-none-pass' | 'gate' | 'best-of-n';
  /**
   * The head that ranks, and that `threshold` reads (the model's first by default). Not with `combine`, which ranks in its place.
   */
  head?: string;
  /**
   * filter, reroll-if-none-pass: the bar on `head`, in its MOS scale, or as a percentile (0-100) of this batch's scores with threshold_kind percentile. Not with `combine`: put bars per head in `thresholds`.
   */
  threshold?: number;
  /**
   * How `threshold` reads: in the head's MOS scale, or as a percentile (0-100) of the batch.
   */
  threshold_kind?: 'absolute' | 'percentile';
  /**
   * filter, reroll-if-none-pass: a bar per head; a candidate passes when every one is reached (a gate on quality AND alignment is one bar on each). A candidate without a score on a head (a prompt head when it had no prompt) does not reach that head's bar.
   */
  thresholds?: {
    [k: string]: number | undefined;
  };
  /**
   * best-of: how many to keep.
   */
  k?: number;
  /**
   * Ranks by several heads in place of `head`: rank's order, best-of's k best, and which of those that pass a filter or reroll-if-none-pass is the pick (the first of passed). Scores are taken raw, in each head's own scale (no normalisation: a weight says what one unit of that head is worth, the same whatever the batch). A candidate missing the score of any head the combination names (a prompt head without a prompt) is not ranked, and so passes nothing; ties keep the input order. Refused with `head` and with `threshold` (bars go per head in `thresholds`). The decision's `head` is the combination's first head.
   */
  combine?: WeightedCombination | LexicographicCombination;
}
/**
 * Best first by the sum over the heads of weight x score, a lower-is-better head counting negatively (-weight x score). Weights are >= 0 and not all 0; a head with weight 0 still has to be scored for the candidate to be ranked.
 */
export interface WeightedCombination {
  method: 'weighted';
  /**
   * Weight per head name, e.g. {"quality": 1, "clipscore": 2}. Summed in the order given.
   */
  weights: {
    [k: string]: number | undefined;
  };
}
/**
 * The best is chosen among the candidates within tolerance of the best score on the first head, then among those within tolerance of the best on the next head, and so on; the first of what remains after the last head (in input order) is the best. The full order repeats that choice on the candidates left. Without tolerances this is sorting by the first head, ties broken by the next.
 */
export interface LexicographicCombination {
  method: 'lexicographic';
  /**
   * Head names, most important first, each once.
   *
   * @minItems 1
   */
  heads: [string, ...string[]];
  /**
   * Per listed head, how far from the best score (in that head's scale, >= 0) a score may be and still count as tied with it; 0 (exact ties only) for a head not named.
   */
  tolerances?: {
    [k: string]: number | undefined;
  };
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
      "description": "What to decide about scored candidates. Ranking is by `head`, or by `combine` over several heads, best first, the right way round for each head (ascending where lower is better); a bar is reached with >= where higher is better and <= where lower is. One rule everywhere a policy is taken (library, webhook service, ComfyUI bridge, CLI): filter and reroll-if-none-pass need a bar (threshold or thresholds) and are the only modes that take one; only best-of reads k (1 when absent); threshold_kind percentile needs a threshold within 0-100; every head named (head, thresholds, combine) must be one of the model's; `combine` takes the place of `head` and of the single `threshold` (a combination has no one scale to put a bar on): with it, bars are per head (`thresholds`). A candidate missing a score that a bar reads (a prompt head when no prompt was sent) does not pass; one missing a score the ranking reads is not ranked, and so passes nothing.",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "mode"
      ],
      "properties": {
        "mode": {
          "description": "score: scores only; rank: order them; filter: which reach the bars (threshold, thresholds); best-of: the k best (the winner first); reroll-if-none-pass: filter, and ask for a reroll when no candidate reaches every bar; when some do, they pass best first, so the pick is the best of them by the ranking (`head` or `combine`). Deprecated spellings, still accepted: gate (= filter), best-of-n (= best-of).",
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
          "description": "The head that ranks, and that `threshold` reads (the model's first by default). Not with `combine`, which ranks in its place.",
          "type": "string"
        },
        "threshold": {
          "description": "filter, reroll-if-none-pass: the bar on `head`, in its MOS scale, or as a percentile (0-100) of this batch's scores with threshold_kind percentile. Not with `combine`: put bars per head in `thresholds`.",
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
          "description": "filter, reroll-if-none-pass: a bar per head; a candidate passes when every one is reached (a gate on quality AND alignment is one bar on each). A candidate without a score on a head (a prompt head when it had no prompt) does not reach that head's bar.",
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
        },
        "combine": {
          "description": "Ranks by several heads in place of `head`: rank's order, best-of's k best, and which of those that pass a filter or reroll-if-none-pass is the pick (the first of passed). Scores are taken raw, in each head's own scale (no normalisation: a weight says what one unit of that head is worth, the same whatever the batch). A candidate missing the score of any head the combination names (a prompt head without a prompt) is not ranked, and so passes nothing; ties keep the input order. Refused with `head` and with `threshold` (bars go per head in `thresholds`). The decision's `head` is the combination's first head.",
          "oneOf": [
            {
              "title": "WeightedCombination",
              "description": "Best first by the sum over the heads of weight x score, a lower-is-better head counting negatively (-weight x score). Weights are >= 0 and not all 0; a head with weight 0 still has to be scored for the candidate to be ranked.",
              "type": "object",
              "additionalProperties": false,
              "required": [
                "method",
                "weights"
              ],
              "properties": {
                "method": {
                  "const": "weighted"
                },
                "weights": {
                  "description": "Weight per head name, e.g. {\"quality\": 1, \"clipscore\": 2}. Summed in the order given.",
                  "type": "object",
                  "minProperties": 1,
                  "additionalProperties": {
                    "type": "number"
                  }
                }
              }
            },
            {
              "title": "LexicographicCombination",
              "description": "The best is chosen among the candidates within tolerance of the best score on the first head, then among those within tolerance of the best on the next head, and so on; the first of what remains after the last head (in input order) is the best. The full order repeats that choice on the candidates left. Without tolerances this is sorting by the first head, ties broken by the next.",
              "type": "object",
              "additionalProperties": false,
              "required": [
                "method",
                "heads"
              ],
              "properties": {
                "method": {
                  "const": "lexicographic"
                },
                "heads": {
                  "description": "Head names, most important first, each once.",
                  "type": "array",
                  "minItems": 1,
                  "items": {
                    "type": "string"
                  }
                },
                "tolerances": {
                  "description": "Per listed head, how far from the best score (in that head's scale, >= 0) a score may be and still count as tied with it; 0 (exact ties only) for a head not named.",
                  "type": "object",
                  "additionalProperties": {
                    "type": "number"
                  }
                }
              }
            }
          ]
        }
      }
    }
  }
} as const;
