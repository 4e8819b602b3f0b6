// Generated from schemas/model-bundle.schema.json by scripts/gen-schemas.mjs: do not edit.

/**
 * @minItems 3
 * @maxItems 3
 */
export type Rgb = [number, number, number];
/**
 * A relative path inside the bundle folder, '/'-separated, never leaving it.
 */
export type Path = string;

/**
 * manifest.json of a CLIP-AGIQA model bundle: an image tower in ONNX, optional text tower and tokenizer, one or more quality heads in safetensors, the preprocessing recipe and a checksum of every file.
 */
export interface ModelBundleManifest {
  format: 'clip-agiqa-bundle';
  /**
   * Major version of this contract; loaders refuse versions they do not know.
   */
  format_version: number;
  name: string;
  description?: string;
  /**
   * Licence of the weights in this bundle.
   */
  license: string;
  backbone: {
    /**
     * e.g. ViT-B/16 (OpenAI).
     */
    name: string;
    architecture: 'clip-vit';
    /**
     * Where the weights came from.
     */
    source?: string;
    /**
     * False for randomly initialised towers (test and demo bundles); absent where the importer cannot know (weights imported from elsewhere).
     */
    trained?: boolean;
    /**
     * D: size of image_embeds and text_embeds.
     */
    embed_dim: number;
    image_size: number;
    patch_size?: number;
    width?: number;
    layers?: number;
  };
  /**
   * Test-time recipe: resize the shortest edge to size, centre crop size x size, RGB/255, (x - mean) / std.
   */
  preprocess: {
    size: number;
    resize: 'shortest-edge';
    interpolation: 'bicubic';
    crop: 'center';
    /**
     * How the centre crop's offset (resized side - size) / 2 is rounded when it is not whole: half-even as torchvision's CenterCrop (OpenAI CLIP, the official CLIP-AGIQA code, bundles this project exports), floor as transformers' CLIPImageProcessor (models imported from the hub).
     */
    crop_rounding?: 'half-even' | 'floor';
    mean: Rgb;
    /**
     * @minItems 3
     * @maxItems 3
     */
    std: [number, number, number];
    /**
     * RGB (0-255) that transparent pixels are flattened onto. Default white.
     *
     * @minItems 3
     * @maxItems 3
     */
    background?: [number, number, number];
  };
  /**
   * pixel_values float32 [N,3,S,S] -> image_embeds float32 [N,D], CLIP's projection output (not normalised).
   */
  image_encoder: {
    input: string;
    output: string;
    /**
     * One ONNX file per precision; fp32 is required, reduced-precision variants are optional.
     */
    files: {
      fp32: Path;
      fp16?: Path;
      bf16?: Path;
      int8?: Path;
    };
    /**
     * Precisions whose graph is run one image at a time because its output for an image depends on the rest of the batch (e.g. dynamic quantisation with one activation scale per tensor): the scorer splits every batch for them, so an image scores the same alone or in any batch.
     */
    per_image?: ('fp32' | 'fp16' | 'bf16' | 'int8')[];
    /**
     * Accuracy guard of each reduced-precision tower against fp32, measured at export.
     */
    accuracy?: {
      [k: string]:
        | {
            /**
             * Lowest cosine similarity of an image's embedding to the fp32 one.
             */
            min_cosine: number;
            mean_cosine: number;
            images: number;
            /**
             * What the guard was measured on: images, or random normal tensors.
             */
            inputs?: string;
            /**
             * Largest difference between an image's embedding computed alone and inside its batch.
             */
            max_batch_diff?: number;
            /**
             * How the tower was reduced, e.g. which quantisation.
             */
            method?: string;
          }
        | undefined;
    };
  };
  /**
   * Optional: input_ids int64 [N,context_length] (and, when attention_mask is named, an int64 mask of the same shape: 1 for tokens, 0 for padding) -> text_embeds float32 [N,D], with CLIP's BPE tokenizer files.
   */
  text_encoder?: {
    file: Path;
    input: string;
    /**
     * Name of the attention-mask input, for text towers that take one (Optimum's text_model.onnx).
     */
    attention_mask?: string;
    output: string;
    context_length: number;
    tokenizer: {
      kind: 'clip-bpe';
      vocab: Path;
      merges: Path;
    };
  };
  /**
   * @minItems 1
   */
  heads: [Head, ...Head[]];
  /**
   * Every file of the bundle but manifest.json, with its sha256 (lowercase hex) and size, verified at load.
   */
  files: {
    [k: string]:
      | {
          sha256: string;
          bytes: number;
        }
      | undefined;
  };
}
export interface Head {
  /**
   * Key of this head's score in results, e.g. quality, authenticity, alignment.
   */
  name: string;
  /**
   * Which head this is; built in: clip-agiqa-mlp: the paper's head, [norm(image) || 6 norm(level texts)] -> Linear(7D,H) -> ReLU -> Linear(H,1). clip-agiqa-anchored: for each category, a softmax over scaled cosine similarities between norm(image) and six learnable level features, read out as an expected MOS on the level values, mixed across categories, plus a small MLP residual on norm(image). clip-zero-shot: no learnt weights; for each group of prompts, a softmax over 100 x cos(image, prompt text embedding) (the scale CLIP was trained with) read out as the expected prompt value, averaged over the groups (CLIP-IQA's antonym pairs, or the six level prompts). clip-agiqa-align: text-image alignment, reads the image and its prompt: [norm(image) || norm(prompt text) || norm(image) * norm(prompt text)] -> Linear(3D,H) -> ReLU -> Linear(H,1); needs the bundle's text tower. Other kinds load where the application registered them (registerHeadKind).
   */
  kind: string;
  /**
   * What the head reads: image, the image embedding alone (quality heads, scored for every image); image+prompt, the image embedding and its prompt's text embedding (alignment heads: scored only for images given a prompt, and only on bundles with a text tower).
   */
  input?: 'image' | 'image+prompt';
  file: Path;
  /**
   * Names of the head's tensors inside its safetensors file; which ones a head needs depends on its kind.
   */
  tensors: {
    [k: string]: string | undefined;
  };
  /**
   * @minItems 6
   * @maxItems 6
   */
  levels?: [string, string, string, string, string, string];
  prompt_template?: string;
  /**
   * The MOS scale the head was trained on, [low, high]. Scores are not clamped to it.
   *
   * @minItems 2
   * @maxItems 2
   */
  score_range: [number, number];
  higher_is_better: boolean;
  /**
   * True only for heads trained on ratings. False for random heads and for zero-shot heads (see provenance).
   */
  trained: boolean;
  /**
   * Where the head's weights come from: trained on ratings, untrained (random: scores mean nothing), or zero-shot (computed from the text tower over fixed prompts, no ratings). Absent: trained or untrained as `trained` says.
   */
  provenance?: 'trained' | 'untrained' | 'zero-shot';
  /**
   * Provenance: dataset, target, protocol and the metrics measured on its test split.
   */
  training?: {
    dataset?: string;
    target?: string;
    protocol?: string;
    metrics?: {
      [k: string]: number | undefined;
    };
  };
  /**
   * clip-agiqa-anchored: the names of the level-feature sets, in the order of level_features' first axis.
   *
   * @minItems 1
   */
  categories?: [string, ...string[]];
  /**
   * clip-zero-shot: the prompts of each group, in the order of prompt_features.
   *
   * @minItems 1
   */
  prompts?: [[string, string, ...string[]], ...[string, string, ...string[]][]];
}

export const modelBundleSchema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://clip-agiqa.dev/schemas/model-bundle.schema.json",
  "title": "ModelBundleManifest",
  "description": "manifest.json of a CLIP-AGIQA model bundle: an image tower in ONNX, optional text tower and tokenizer, one or more quality heads in safetensors, the preprocessing recipe and a checksum of every file.",
  "type": "object",
  "additionalProperties": false,
  "required": [
    "format",
    "format_version",
    "name",
    "license",
    "backbone",
    "preprocess",
    "image_encoder",
    "heads",
    "files"
  ],
  "properties": {
    "format": {
      "const": "clip-agiqa-bundle"
    },
    "format_version": {
      "description": "Major version of this contract; loaders refuse versions they do not know.",
      "type": "integer",
      "minimum": 1
    },
    "name": {
      "type": "string",
      "minLength": 1
    },
    "description": {
      "type": "string"
    },
    "license": {
      "description": "Licence of the weights in this bundle.",
      "type": "string",
      "minLength": 1
    },
    "backbone": {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "name",
        "architecture",
        "embed_dim",
        "image_size"
      ],
      "properties": {
        "name": {
          "description": "e.g. ViT-B/16 (OpenAI).",
          "type": "string"
        },
        "architecture": {
          "const": "clip-vit"
        },
        "source": {
          "description": "Where the weights came from.",
          "type": "string"
        },
        "trained": {
          "description": "False for randomly initialised towers (test and demo bundles); absent where the importer cannot know (weights imported from elsewhere).",
          "type": "boolean"
        },
        "embed_dim": {
          "description": "D: size of image_embeds and text_embeds.",
          "type": "integer",
          "minimum": 1
        },
        "image_size": {
          "type": "integer",
          "minimum": 1
        },
        "patch_size": {
          "type": "integer",
          "minimum": 1
        },
        "width": {
          "type": "integer",
          "minimum": 1
        },
        "layers": {
          "type": "integer",
          "minimum": 1
        }
      }
    },
    "preprocess": {
      "description": "Test-time recipe: resize the shortest edge to size, centre crop size x size, RGB/255, (x - mean) / std.",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "size",
        "resize",
        "interpolation",
        "crop",
        "mean",
        "std"
      ],
      "properties": {
        "size": {
          "type": "integer",
          "minimum": 1,
          "maximum": 4096
        },
        "resize": {
          "const": "shortest-edge"
        },
        "interpolation": {
          "enum": [
            "bicubic"
          ]
        },
        "crop": {
          "const": "center"
        },
        "crop_rounding": {
          "description": "How the centre crop's offset (resized side - size) / 2 is rounded when it is not whole: half-even as torchvision's CenterCrop (OpenAI CLIP, the official CLIP-AGIQA code, bundles this project exports), floor as transformers' CLIPImageProcessor (models imported from the hub).",
          "enum": [
            "half-even",
            "floor"
          ],
          "default": "half-even"
        },
        "mean": {
          "$ref": "#/$defs/rgb"
        },
        "std": {
          "type": "array",
          "items": {
            "type": "number",
            "exclusiveMinimum": 0
          },
          "minItems": 3,
          "maxItems": 3
        },
        "background": {
          "description": "RGB (0-255) that transparent pixels are flattened onto. Default white.",
          "type": "array",
          "items": {
            "type": "integer",
            "minimum": 0,
            "maximum": 255
          },
          "minItems": 3,
          "maxItems": 3
        }
      }
    },
    "image_encoder": {
      "description": "pixel_values float32 [N,3,S,S] -> image_embeds float32 [N,D], CLIP's projection output (not normalised).",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "input",
        "output",
        "files"
      ],
      "properties": {
        "input": {
          "type": "string"
        },
        "output": {
          "type": "string"
        },
        "files": {
          "description": "One ONNX file per precision; fp32 is required, reduced-precision variants are optional.",
          "type": "object",
          "required": [
            "fp32"
          ],
          "additionalProperties": false,
          "properties": {
            "fp32": {
              "$ref": "#/$defs/path"
            },
            "fp16": {
              "$ref": "#/$defs/path"
            },
            "bf16": {
              "$ref": "#/$defs/path"
            },
            "int8": {
              "$ref": "#/$defs/path"
            }
          }
        },
        "per_image": {
          "description": "Precisions whose graph is run one image at a time because its output for an image depends on the rest of the batch (e.g. dynamic quantisation with one activation scale per tensor): the scorer splits every batch for them, so an image scores the same alone or in any batch.",
          "type": "array",
          "uniqueItems": true,
          "items": {
            "enum": [
              "fp32",
              "fp16",
              "bf16",
              "int8"
            ]
          }
        },
        "accuracy": {
          "description": "Accuracy guard of each reduced-precision tower against fp32, measured at export.",
          "type": "object",
          "propertyNames": {
            "enum": [
              "fp16",
              "bf16",
              "int8"
            ]
          },
          "additionalProperties": {
            "type": "object",
            "additionalProperties": false,
            "required": [
              "min_cosine",
              "mean_cosine",
              "images"
            ],
            "properties": {
              "min_cosine": {
                "description": "Lowest cosine similarity of an image's embedding to the fp32 one.",
                "type": "number"
              },
              "mean_cosine": {
                "type": "number"
              },
              "images": {
                "type": "integer",
                "minimum": 1
              },
              "inputs": {
                "description": "What the guard was measured on: images, or random normal tensors.",
                "type": "string"
              },
              "max_batch_diff": {
                "description": "Largest difference between an image's embedding computed alone and inside its batch.",
                "type": "number",
                "minimum": 0
              },
              "method": {
                "description": "How the tower was reduced, e.g. which quantisation.",
                "type": "string"
              }
            }
          }
        }
      }
    },
    "text_encoder": {
      "description": "Optional: input_ids int64 [N,context_length] (and, when attention_mask is named, an int64 mask of the same shape: 1 for tokens, 0 for padding) -> text_embeds float32 [N,D], with CLIP's BPE tokenizer files.",
      "type": "object",
      "additionalProperties": false,
      "required": [
        "file",
        "input",
        "output",
        "context_length",
        "tokenizer"
      ],
      "properties": {
        "file": {
          "$ref": "#/$defs/path"
        },
        "input": {
          "type": "string"
        },
        "attention_mask": {
          "description": "Name of the attention-mask input, for text towers that take one (Optimum's text_model.onnx).",
          "type": "string"
        },
        "output": {
          "type": "string"
        },
        "context_length": {
          "type": "integer",
          "minimum": 1
        },
        "tokenizer": {
          "type": "object",
          "additionalProperties": false,
          "required": [
            "kind",
            "vocab",
            "merges"
          ],
          "properties": {
            "kind": {
              "const": "clip-bpe"
            },
            "vocab": {
              "$ref": "#/$defs/path"
            },
            "merges": {
              "$ref": "#/$defs/path"
            }
          }
        }
      }
    },
    "heads": {
      "type": "array",
      "minItems": 1,
      "items": {
        "$ref": "#/$defs/head"
      }
    },
    "files": {
      "description": "Every file of the bundle but manifest.json, with its sha256 (lowercase hex) and size, verified at load.",
      "type": "object",
      "minProperties": 1,
      "propertyNames": {
        "$ref": "#/$defs/path"
      },
      "additionalProperties": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "sha256",
          "bytes"
        ],
        "properties": {
          "sha256": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$"
          },
          "bytes": {
            "type": "integer",
            "minimum": 0
          }
        }
      }
    }
  },
  "$defs": {
    "path": {
      "description": "A relative path inside the bundle folder, '/'-separated, never leaving it.",
      "type": "string",
      "pattern": "^(?!/)(?!.*(^|/)\\.\\.?(/|$))[A-Za-z0-9._/-]+$"
    },
    "rgb": {
      "type": "array",
      "items": {
        "type": "number"
      },
      "minItems": 3,
      "maxItems": 3
    },
    "head": {
      "type": "object",
      "additionalProperties": false,
      "required": [
        "name",
        "kind",
        "file",
        "tensors",
        "score_range",
        "higher_is_better",
        "trained"
      ],
      "properties": {
        "name": {
          "description": "Key of this head's score in results, e.g. quality, authenticity, alignment.",
          "type": "string",
          "pattern": "^[a-z][a-z0-9_-]*$"
        },
        "kind": {
          "description": "Which head this is; built in: clip-agiqa-mlp: the paper's head, [norm(image) || 6 norm(level texts)] -> Linear(7D,H) -> ReLU -> Linear(H,1). clip-agiqa-anchored: for each category, a softmax over scaled cosine similarities between norm(image) and six learnable level features, read out as an expected MOS on the level values, mixed across categories, plus a small MLP residual on norm(image). clip-zero-shot: no learnt weights; for each group of prompts, a softmax over 100 x cos(image, prompt text embedding) (the scale CLIP was trained with) read out as the expected prompt value, averaged over the groups (CLIP-IQA's antonym pairs, or the six level prompts). clip-agiqa-align: text-image alignment, reads the image and its prompt: [norm(image) || norm(prompt text) || norm(image) * norm(prompt text)] -> Linear(3D,H) -> ReLU -> Linear(H,1); needs the bundle's text tower. Other kinds load where the application registered them (registerHeadKind).",
          "type": "string",
          "pattern": "^[a-z][a-z0-9-]*$"
        },
        "input": {
          "description": "What the head reads: image, the image embedding alone (quality heads, scored for every image); image+prompt, the image embedding and its prompt's text embedding (alignment heads: scored only for images given a prompt, and only on bundles with a text tower).",
          "enum": [
            "image",
            "image+prompt"
          ],
          "default": "image"
        },
        "file": {
          "$ref": "#/$defs/path"
        },
        "tensors": {
          "description": "Names of the head's tensors inside its safetensors file; which ones a head needs depends on its kind.",
          "type": "object",
          "additionalProperties": {
            "type": "string"
          }
        },
        "levels": {
          "type": "array",
          "items": {
            "type": "string"
          },
          "minItems": 6,
          "maxItems": 6
        },
        "prompt_template": {
          "type": "string"
        },
        "score_range": {
          "description": "The MOS scale the head was trained on, [low, high]. Scores are not clamped to it.",
          "type": "array",
          "items": {
            "type": "number"
          },
          "minItems": 2,
          "maxItems": 2
        },
        "higher_is_better": {
          "type": "boolean"
        },
        "trained": {
          "description": "True only for heads trained on ratings. False for random heads and for zero-shot heads (see provenance).",
          "type": "boolean"
        },
        "provenance": {
          "description": "Where the head's weights come from: trained on ratings, untrained (random: scores mean nothing), or zero-shot (computed from the text tower over fixed prompts, no ratings). Absent: trained or untrained as `trained` says.",
          "enum": [
            "trained",
            "untrained",
            "zero-shot"
          ]
        },
        "training": {
          "description": "Provenance: dataset, target, protocol and the metrics measured on its test split.",
          "type": "object",
          "properties": {
            "dataset": {
              "type": "string"
            },
            "target": {
              "type": "string"
            },
            "protocol": {
              "type": "string"
            },
            "metrics": {
              "type": "object",
              "additionalProperties": {
                "type": "number"
              }
            }
          }
        },
        "categories": {
          "description": "clip-agiqa-anchored: the names of the level-feature sets, in the order of level_features' first axis.",
          "type": "array",
          "items": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_-]*$"
          },
          "minItems": 1,
          "uniqueItems": true
        },
        "prompts": {
          "description": "clip-zero-shot: the prompts of each group, in the order of prompt_features.",
          "type": "array",
          "minItems": 1,
          "items": {
            "type": "array",
            "minItems": 2,
            "items": {
              "type": "string"
            }
          }
        }
      },
      "allOf": [
        {
          "if": {
            "type": "object",
            "properties": {
              "kind": {
                "const": "clip-agiqa-mlp"
              }
            }
          },
          "then": {
            "type": "object",
            "properties": {
              "tensors": {
                "type": "object",
                "required": [
                  "text_features",
                  "fc1_weight",
                  "fc1_bias",
                  "fc2_weight",
                  "fc2_bias"
                ],
                "properties": {
                  "text_features": {
                    "description": "[6, D] level-prompt text embeddings, in the order of levels.",
                    "type": "string"
                  },
                  "fc1_weight": {
                    "description": "[H, 7D]",
                    "type": "string"
                  },
                  "fc1_bias": {
                    "description": "[H]",
                    "type": "string"
                  },
                  "fc2_weight": {
                    "description": "[1, H]",
                    "type": "string"
                  },
                  "fc2_bias": {
                    "description": "[1]",
                    "type": "string"
                  }
                },
                "additionalProperties": false
              }
            }
          }
        },
        {
          "if": {
            "type": "object",
            "properties": {
              "kind": {
                "const": "clip-agiqa-anchored"
              }
            }
          },
          "then": {
            "type": "object",
            "properties": {
              "tensors": {
                "type": "object",
                "required": [
                  "level_features",
                  "logit_scale",
                  "level_values",
                  "category_weights",
                  "bias",
                  "residual1_weight",
                  "residual1_bias",
                  "residual2_weight",
                  "residual2_bias"
                ],
                "properties": {
                  "level_features": {
                    "description": "[C, 6, D] level features of each category, in the order of categories and levels.",
                    "type": "string"
                  },
                  "logit_scale": {
                    "description": "[1] log of the cosine-similarity scale.",
                    "type": "string"
                  },
                  "level_values": {
                    "description": "[6] the MOS each level stands for.",
                    "type": "string"
                  },
                  "category_weights": {
                    "description": "[C] weight of each category's expected MOS.",
                    "type": "string"
                  },
                  "bias": {
                    "description": "[1]",
                    "type": "string"
                  },
                  "residual1_weight": {
                    "description": "[R, D]",
                    "type": "string"
                  },
                  "residual1_bias": {
                    "description": "[R]",
                    "type": "string"
                  },
                  "residual2_weight": {
                    "description": "[1, R]",
                    "type": "string"
                  },
                  "residual2_bias": {
                    "description": "[1]",
                    "type": "string"
                  }
                },
                "additionalProperties": false
              },
              "categories": {
                "type": "array"
              }
            },
            "required": [
              "categories"
            ]
          }
        },
        {
          "if": {
            "type": "object",
            "properties": {
              "kind": {
                "const": "clip-zero-shot"
              }
            }
          },
          "then": {
            "type": "object",
            "properties": {
              "tensors": {
                "type": "object",
                "required": [
                  "prompt_features",
                  "prompt_values",
                  "logit_scale"
                ],
                "properties": {
                  "prompt_features": {
                    "description": "[G, K, D] text embeddings of G groups of K prompts each.",
                    "type": "string"
                  },
                  "prompt_values": {
                    "description": "[K] the value each prompt of a group stands for (e.g. good 1, bad 0).",
                    "type": "string"
                  },
                  "logit_scale": {
                    "description": "[1] log of the cosine-similarity scale (log 100).",
                    "type": "string"
                  }
                },
                "additionalProperties": false
              },
              "prompts": {
                "type": "array"
              }
            },
            "required": [
              "prompts"
            ]
          }
        },
        {
          "if": {
            "type": "object",
            "properties": {
              "kind": {
                "const": "clip-agiqa-align"
              }
            }
          },
          "then": {
            "type": "object",
            "properties": {
              "input": {
                "const": "image+prompt"
              },
              "tensors": {
                "type": "object",
                "required": [
                  "fc1_weight",
                  "fc1_bias",
                  "fc2_weight",
                  "fc2_bias"
                ],
                "properties": {
                  "fc1_weight": {
                    "description": "[H, 3D]: columns for norm(image), norm(prompt text), their product, in that order.",
                    "type": "string"
                  },
                  "fc1_bias": {
                    "description": "[H]",
                    "type": "string"
                  },
                  "fc2_weight": {
                    "description": "[1, H]",
                    "type": "string"
                  },
                  "fc2_bias": {
                    "description": "[1]",
                    "type": "string"
                  }
                },
                "additionalProperties": false
              }
            },
            "required": [
              "input"
            ]
          }
        }
      ]
    }
  }
} as const;
