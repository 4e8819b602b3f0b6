// Generated from schemas/bridge-server-message.schema.json by scripts/gen-schemas.mjs: do not edit.

import type { WireError } from '@clip-agiqa/core/internal';

/**
 * Text frames clip-agiqa bridge sends, protocol 1.
 */
export type BridgeServerMessage = BridgeWelcome | BridgeResult | BridgeBusy | BridgeErrorMessage;
/**
 * The bridge's own error codes: authentication, the protocol, and the request's shape and images.
 */
export type BridgeErrorCode =
  | 'UNAUTHORIZED'
  | 'UNSUPPORTED_PROTOCOL'
  | 'MALFORMED_MESSAGE'
  | 'SCHEMA_VIOLATION'
  | 'NOT_AUTHENTICATED'
  | 'DUPLICATE_ID'
  | 'TOO_MANY_IMAGES'
  | 'BAD_REQUEST'
  | 'FRAMES_MISSING'
  | 'BAD_FRAME'
  | 'UNKNOWN_REQUEST'
  | 'IMAGE_TOO_LARGE'
  | 'INTERNAL';

export interface BridgeWelcome {
  type: 'welcome';
  protocol: 1;
  server: string;
  model: {
    name: string;
    untrained: boolean;
    /**
     * sha256 of the bundle's manifest.json (which pins every file's hash): changes whenever the model does, so clients may key cached scores by it.
     */
    digest?: string;
    heads: {
      name: string;
      /**
       * @minItems 2
       * @maxItems 2
       */
      score_range: [number, number];
      higher_is_better: boolean;
    }[];
  };
  limits: {
    max_images: number;
    max_image_bytes: number;
  };
}
export interface BridgeResult {
  type: 'result';
  id: string;
  /**
   * One entry per image, in request order.
   */
  scores: {
    index: number;
    scores?: {
      [k: string]: number | undefined;
    };
    error?: WireError;
  }[];
  decision: {
    head: string;
    /**
     * Indices of the scored images, best first.
     */
    order: number[];
    /**
     * filter (or its deprecated spelling gate) and reroll-if-none-pass: indices that reach every bar, in request order; best-of: the k best, best first; score and rank: every scored index.
     */
    passed: number[];
    /**
     * The other indices (failed images included), in request order.
     */
    rejected: number[];
    /**
     * filter (or gate): the bar applied, in the head's scale (a percentile resolved on this batch).
     */
    threshold?: number;
  };
}
export interface BridgeBusy {
  type: 'busy';
  id: string;
  retry_after_ms: number;
}
export interface BridgeErrorMessage {
  type: 'error';
  /**
   * The request it concerns, when there is one.
   */
  id?: string;
  /**
   * What went wrong: one of the bridge's own codes, or the code of a clip-agiqa error met while checking the policy or scoring (e.g. POLICY_MISSING_K, INFERENCE_FAILED).
   */
  code: BridgeErrorCode | string;
  message: string;
}

export const bridgeServerMessageSchema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://clip-agiqa.dev/schemas/bridge-server-message.schema.json",
  "title": "BridgeServerMessage",
  "description": "Text frames clip-agiqa bridge sends, protocol 1.",
  "oneOf": [
    {
      "$ref": "#/$defs/welcome"
    },
    {
      "$ref": "#/$defs/result"
    },
    {
      "$ref": "#/$defs/busy"
    },
    {
      "$ref": "#/$defs/error"
    }
  ],
  "$defs": {
    "welcome": {
      "title": "BridgeWelcome",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "type",
        "protocol",
        "server",
        "model",
        "limits"
      ],
      "properties": {
        "type": {
          "const": "welcome"
        },
        "protocol": {
          "const": 1
        },
        "server": {
          "type": "string"
        },
        "model": {
          "type": "object",
          "additionalProperties": false,
          "required": [
            "name",
            "untrained",
            "heads"
          ],
          "properties": {
            "name": {
              "type": "string"
            },
            "untrained": {
              "type": "boolean"
            },
            "digest": {
              "type": "string",
              "description": "sha256 of the bundle's manifest.json (which pins every file's hash): changes whenever the model does, so clients may key cached scores by it."
            },
            "heads": {
              "type": "array",
              "items": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "name",
                  "score_range",
                  "higher_is_better"
                ],
                "properties": {
                  "name": {
                    "type": "string"
                  },
                  "score_range": {
                    "type": "array",
                    "items": {
                      "type": "number"
                    },
                    "minItems": 2,
                    "maxItems": 2
                  },
                  "higher_is_better": {
                    "type": "boolean"
                  }
                }
              }
            }
          }
        },
        "limits": {
          "type": "object",
          "additionalProperties": false,
          "required": [
            "max_images",
            "max_image_bytes"
          ],
          "properties": {
            "max_images": {
              "type": "integer"
            },
            "max_image_bytes": {
              "type": "integer"
            }
          }
        }
      }
    },
    "result": {
      "title": "BridgeResult",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "type",
        "id",
        "scores",
        "decision"
      ],
      "properties": {
        "type": {
          "const": "result"
        },
        "id": {
          "type": "string"
        },
        "scores": {
          "description": "One entry per image, in request order.",
          "type": "array",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": [
              "index"
            ],
            "properties": {
              "index": {
                "type": "integer",
                "minimum": 0
              },
              "scores": {
                "type": "object",
                "additionalProperties": {
                  "type": "number"
                }
              },
              "error": {
                "$ref": "#/$defs/errorBody"
              }
            }
          }
        },
        "decision": {
          "type": "object",
          "additionalProperties": false,
          "required": [
            "head",
            "order",
            "passed",
            "rejected"
          ],
          "properties": {
            "head": {
              "type": "string"
            },
            "order": {
              "description": "Indices of the scored images, best first.",
              "type": "array",
              "items": {
                "type": "integer"
              }
            },
            "passed": {
              "description": "filter (or its deprecated spelling gate) and reroll-if-none-pass: indices that reach every bar, in request order; best-of: the k best, best first; score and rank: every scored index.",
              "type": "array",
              "items": {
                "type": "integer"
              }
            },
            "rejected": {
              "description": "The other indices (failed images included), in request order.",
              "type": "array",
              "items": {
                "type": "integer"
              }
            },
            "threshold": {
              "description": "filter (or gate): the bar applied, in the head's scale (a percentile resolved on this batch).",
              "type": "number"
            }
          }
        }
      }
    },
    "busy": {
      "title": "BridgeBusy",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "type",
        "id",
        "retry_after_ms"
      ],
      "properties": {
        "type": {
          "const": "busy"
        },
        "id": {
          "type": "string"
        },
        "retry_after_ms": {
          "type": "integer",
          "minimum": 0
        }
      }
    },
    "error": {
      "title": "BridgeErrorMessage",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "type",
        "code",
        "message"
      ],
      "properties": {
        "type": {
          "const": "error"
        },
        "id": {
          "description": "The request it concerns, when there is one.",
          "type": "string"
        },
        "code": {
          "description": "What went wrong: one of the bridge's own codes, or the code of a clip-agiqa error met while checking the policy or scoring (e.g. POLICY_MISSING_K, INFERENCE_FAILED).",
          "anyOf": [
            {
              "$ref": "#/$defs/bridgeErrorCode"
            },
            {
              "type": "string",
              "pattern": "^[A-Z][A-Z0-9_]*$"
            }
          ]
        },
        "message": {
          "type": "string"
        }
      }
    },
    "bridgeErrorCode": {
      "title": "BridgeErrorCode",
      "description": "The bridge's own error codes: authentication, the protocol, and the request's shape and images.",
      "enum": [
        "UNAUTHORIZED",
        "UNSUPPORTED_PROTOCOL",
        "MALFORMED_MESSAGE",
        "SCHEMA_VIOLATION",
        "NOT_AUTHENTICATED",
        "DUPLICATE_ID",
        "TOO_MANY_IMAGES",
        "BAD_REQUEST",
        "FRAMES_MISSING",
        "BAD_FRAME",
        "UNKNOWN_REQUEST",
        "IMAGE_TOO_LARGE",
        "INTERNAL"
      ]
    },
    "errorBody": {
      "$ref": "defs.schema.json#/$defs/error"
    }
  }
} as const;
