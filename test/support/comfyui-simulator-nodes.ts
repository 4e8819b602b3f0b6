// The nodes of the ComfyUI protocol simulator: a handful of weight-free ComfyUI nodes that run for real
// (images rendered with sharp), and ComfyUI 0.8.0's validation of a prompt, with its error shapes.
import { randomUUID } from 'node:crypto';

import { comfyImageFrame } from '@clip-agiqa/comfyui';
import sharp from 'sharp';

export type Img = { width: number; height: number; rgb: Buffer };
export type Prompt = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
export type Item = { number: number; id: string; prompt: Prompt; extra: { client_id?: string }; outputs: string[] };

/** What a node can reach of the server it runs in. */
export interface NodeContext {
  readonly files: Map<string, Buffer>;
  counter: number;
  websocketDrops: number;
  dropSocket(clientId: string | undefined): void;
  wantsMetadata(clientId?: string): boolean;
  send(clientId: string | undefined, message: object): void;
  sendBinary(clientId: string | undefined, frame: Buffer): void;
}

interface NodeDef {
  required: Record<string, { type: string; max?: number }>;
  output: string[];
  outputNode?: boolean;
  run(inputs: Record<string, unknown>, ctx: { sim: NodeContext; item: Item; node: string }): Promise<{ outputs?: unknown[]; ui?: Record<string, unknown> }>;
}

/** A node's Python exception, as ComfyUI reports it (exception_type, exception_message). */
export class ExecutionFailure extends Error {
  constructor(readonly type: string, message: string) { super(message); }
}

async function png(im: Img): Promise<Buffer> {
  return sharp(im.rgb, { raw: { width: im.width, height: im.height, channels: 3 } }).png().toBuffer();
}

export const NODES: Record<string, NodeDef> = {
  // A seeded node with KSampler's seed range (0 to 2^64 - 1): its seed only has to arrive intact.
  RandomNoise: {
    required: { noise_seed: { type: 'INT', max: 2 ** 64 - 1 } }, // as a float: JSON.parse reads the seeds so too
    output: ['NOISE'],
    async run(i) {
      return { outputs: [i.noise_seed] };
    },
  },
  // The text encoder without its CLIP: what matters here is that a workflow can carry its prompt.
  CLIPTextEncode: {
    required: { text: { type: 'STRING' } },
    output: ['CONDITIONING'],
    async run(i) {
      return { outputs: [{ text: i.text }] };
    },
  },
  EmptyImage: {
    required: { width: { type: 'INT' }, height: { type: 'INT' }, batch_size: { type: 'INT' }, color: { type: 'INT', max: 0xffffff } },
    output: ['IMAGE'],
    async run(i) {
      const [w, h, n, c] = [Number(i.width), Number(i.height), Number(i.batch_size), Number(i.color)];
      const rgb = Buffer.alloc(w * h * 3);
      for (let p = 0; p < w * h; p++) rgb.set([(c >> 16) & 255, (c >> 8) & 255, c & 255], p * 3);
      return { outputs: [Array.from({ length: n }, () => ({ width: w, height: h, rgb }))] };
    },
  },
  LoadImage: {
    required: { image: { type: 'STRING' } },
    output: ['IMAGE', 'MASK'],
    async run(i, { sim }) {
      const bytes = sim.files.get(`input//${String(i.image)}`)!;
      try {
        const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        return { outputs: [[{ width: info.width, height: info.height, rgb: data }], null] };
      } catch {
        throw new ExecutionFailure('PIL.UnidentifiedImageError', `cannot identify image file '${String(i.image)}'`);
      }
    },
  },
  ImageInvert: {
    required: { image: { type: 'IMAGE' } },
    output: ['IMAGE'],
    async run(i) {
      return { outputs: [(i.image as Img[]).map((im) => ({ ...im, rgb: Buffer.from(im.rgb.map((v) => 255 - v)) }))] };
    },
  },
  SaveImage: {
    required: { images: { type: 'IMAGE' }, filename_prefix: { type: 'STRING' } },
    output: [], outputNode: true,
    async run(i, { sim }) {
      const images = [];
      for (const im of i.images as Img[]) {
        const [subfolder, prefix] = String(i.filename_prefix).includes('/') ? String(i.filename_prefix).split('/') : ['', String(i.filename_prefix)];
        const filename = `${prefix}_${String(++sim.counter).padStart(5, '0')}_.png`;
        sim.files.set(`output/${subfolder}/${filename}`, await png(im));
        images.push({ filename, subfolder, type: 'output' });
      }
      return { ui: { images } };
    },
  },
  PreviewImage: {
    required: { images: { type: 'IMAGE' } },
    output: [], outputNode: true,
    async run(i, { sim }) {
      const images = [];
      for (const im of i.images as Img[]) {
        const filename = `ComfyUI_temp_${randomUUID().slice(0, 5)}_${String(++sim.counter).padStart(5, '0')}_.png`;
        sim.files.set(`temp//${filename}`, await png(im));
        images.push({ filename, subfolder: '', type: 'temp' });
      }
      return { ui: { images } };
    },
  },
  SaveImageWebsocket: {
    required: { images: { type: 'IMAGE' } },
    output: [], outputNode: true,
    async run(i, { sim, item, node }) {
      const images = i.images as Img[];
      if (sim.websocketDrops > 0) {
        sim.websocketDrops--;
        sim.dropSocket(item.extra.client_id);
      }
      for (const [k, im] of images.entries()) {
        const bytes = await png(im);
        const meta = sim.wantsMetadata(item.extra.client_id);
        const progress = { type: 'progress', data: { value: k + 1, max: images.length, prompt_id: item.id, node } };
        if (meta) {
          sim.sendBinary(item.extra.client_id, comfyImageFrame(bytes, 'image/png', { node_id: node, prompt_id: item.id }));
          sim.send(item.extra.client_id, progress);
        } else {
          sim.send(item.extra.client_id, progress);
          sim.sendBinary(item.extra.client_id, comfyImageFrame(bytes, 'image/png'));
        }
      }
      return {};
    },
  },
};

/** The prompt's output nodes (those ComfyUI runs the prompt for). */
export function outputNodes(prompt: Prompt): string[] {
  return Object.entries(prompt).filter(([, n]) => NODES[n.class_type]!.outputNode).map(([id]) => id);
}

/** ComfyUI's answer to a prompt it refuses (400), or null when the prompt is valid; LoadImage's image must be among the uploaded files. */
export function validatePrompt(prompt: Prompt, files: ReadonlyMap<string, Buffer>): { error: Record<string, unknown>; node_errors: Record<string, unknown> } | null {
  const fail = (type: string, message: string) => ({ error: { type, message, details: '', extra_info: {} }, node_errors: {} });
  for (const n of Object.values(prompt)) {
    if (!NODES[n.class_type]) return fail('invalid_prompt', `Cannot execute because node ${n.class_type} does not exist.`);
  }
  const outputs = outputNodes(prompt);
  if (outputs.length === 0) return fail('prompt_no_outputs', 'Prompt has no outputs');
  const nodeErrors: Record<string, unknown> = {};
  for (const [id, n] of Object.entries(prompt)) {
    const errors = [];
    for (const [name, spec] of Object.entries(NODES[n.class_type]!.required)) {
      const v = n.inputs[name];
      if (v === undefined) errors.push({ type: 'required_input_missing', message: 'Required input is missing', details: name, extra_info: { input_name: name } });
      else if (spec.max !== undefined && typeof v === 'number' && v > spec.max) {
        errors.push({ type: 'value_bigger_than_max', message: `Value ${v} bigger than max of ${spec.max}`, details: `${name}`, extra_info: { input_name: name, received_value: v } });
      } else if (n.class_type === 'LoadImage' && name === 'image' && !files.has(`input//${String(v)}`)) {
        errors.push({ type: 'custom_validation_failed', message: 'Custom validation failed for node', details: `image - Invalid image file: ${String(v)}`, extra_info: {} });
      }
    }
    if (errors.length) nodeErrors[id] = { errors, dependent_outputs: outputs, class_type: n.class_type };
  }
  return Object.keys(nodeErrors).length
    ? { error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} }, node_errors: nodeErrors }
    : null;
}
