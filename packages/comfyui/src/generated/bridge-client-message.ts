// Generated from schemas/bridge-client-message.schema.json by scripts/gen-schemas.mjs: do not edit.

import type { WirePolicy } from '@clip-agiqa/core/internal';

/**
 * Text frames a client (e.g. the ComfyUI node pack) sends to clip-agiqa bridge, protocol 1. A score request's optional prompt (per request, or per image) is scored by the heads that read one (clipscore) when the model has a text tower. Its policy is the shared one (defs.schema.json#/$defs/policy); the bridge accepts and refuses exactly what every other entry does (the same error codes and messages): reroll-if-none-pass is decided as a filter (the workflow asks for the reroll), and the deprecated gate and best-of-n are filter and best-of. After a score message come its images, one binary frame each: uint32 BE length of the request id, the id (UTF-8), uint32 BE image index, then the image (PNG/JPEG/WebP file bytes, or raw RGB bytes row by row).
 */
export type BridgeClientMessage = BridgeHello | BridgeScoreRequest;

export interface BridgeHello {
  type: 'hello';
  protocol: 1;
  /**
   * The bridge's shared token, when it has one.
   */
  token?: string;
  /**
   * Who is calling, for logs (e.g. comfyui-node/0.1.0 on host X).
   */
  client: string;
}
export interface BridgeScoreRequest {
  type: 'score';
  /**
   * The client's request id, echoed in the reply and in the request's binary frames.
   */
  id: string;
  policy: WirePolicy;
  /**
   * The prompt the images were generated from (an image's own prompt wins): heads that read one (clipscore) score each image against it. Blank: none.
   */
  prompt?: string;
  /**
   * @minItems 1
   * @maxItems 256
   */
  images: [BridgeImageSpec, ...BridgeImageSpec[]];
}
export interface BridgeImageSpec {
  /**
   * encoded: PNG, JPEG or WebP file bytes (sniffed); rgb: width*height*3 raw bytes.
   */
  format: 'encoded' | 'rgb';
  width?: number;
  height?: number;
  /**
   * This image's prompt, when it differs from the request's.
   */
  prompt?: string;
}

export const bridgeClientMessageSchema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://clip-agiqa.dev/schemas/bridge-client-message.schema.json",
  "title": "BridgeClientMessage",
  "description": "Text frames a client (e.g. the ComfyUI node pack) sends to clip-agiqa bridge, protocol 1. A score request's optional prompt (per request, or per image) is scored by the heads that read one (clipscore) when the model has a text tower. Its policy is the shared one (defs.schema.json#/$defs/policy); the bridge accepts and refuses exactly what every other entry does (the same error codes and messages): reroll-if-none-pass is decided as a filter (the workflow asks for the reroll), and the deprecated gate and best-of-n are filter and best-of. After a score message come its images, one binary frame each: uint32 BE length of the request id, the id (UTF-8), uint32 BE image index, then the image (PNG/JPEG/WebP file bytes, or raw RGB bytes row by row).",
  "oneOf": [
    {
      "$ref": "#/$defs/hello"
    },
    {
      "$ref": "#/$defs/score"
    }
  ],
  "$defs": {
    "hello": {
      "title": "BridgeHello",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "type",
        "protocol",
        "client"
      ],
      "properties": {
        "type": {
          "const": "hello"
        },
        "protocol": {
          "const": 1
        },
        "token": {
          "description": "The bridge's shared token, when it has one.",
          "type": "string",
          "maxLength": 512
        },
        "client": {
          "description": "Who is calling, for logs (e.g. comfyui-node/0.1.0 on host X).",
          "type": "string",
          "minLength": 1,
          "maxLength": 200
        }
      }
    },
    "score": {
      "title": "BridgeScoreRequest",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "type",
        "id",
        "policy",
        "images"
      ],
      "properties": {
        "type": {
          "const": "score"
        },
        "id": {
          "description": "The client's request id, echoed in the reply and in the request's binary frames.",
          "type": "string",
          "pattern": "^[A-Za-z0-9._:-]{1,128}$"
        },
        "policy": {
          "$ref": "#/$defs/policy"
        },
        "prompt": {
          "description": "The prompt the images were generated from (an image's own prompt wins): heads that read one (clipscore) score each image against it. Blank: none.",
          "type": "string",
          "maxLength": 10000
        },
        "images": {
          "type": "array",
          "minItems": 1,
          "maxItems": 256,
          "items": {
            "$ref": "#/$defs/image"
          }
        }
      }
    },
    "image": {
      "title": "BridgeImageSpec",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "format"
      ],
      "properties": {
        "format": {
          "description": "encoded: PNG, JPEG or WebP file bytes (sniffed); rgb: width*height*3 raw bytes.",
          "enum": [
            "encoded",
            "rgb"
          ]
        },
        "width": {
          "type": "integer",
          "minimum": 1,
          "maximum": 16384
        },
        "height": {
          "type": "integer",
          "minimum": 1,
          "maximum": 16384
        },
        "prompt": {
          "description": "This image's prompt, when it differs from the request's.",
          "type": "string",
          "maxLength": 10000
        }
      }
    },
    "policy": {
      "$ref": "defs.schema.json#/$defs/policy"
    }
  }
} as const;
