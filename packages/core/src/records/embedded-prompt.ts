import { pngTextChunks, readPngHead } from './png-chunks.js';

/** Where an image's own metadata said its prompt is. */
export interface EmbeddedPrompt {
  prompt: string;
  /** `comfyui`: the `prompt` text chunk (ComfyUI's API graph); `a1111`: the `parameters` text chunk (Automatic1111, Forge). */
  source: 'comfyui' | 'a1111';
}

type Link = [string, number];
interface GraphNode {
  class_type?: unknown;
  inputs?: Record<string, unknown>;
}
type Graph = Record<string, GraphNode>;

const isLink = (v: unknown): v is Link => Array.isArray(v) && v.length === 2 && (typeof v[0] === 'string' || typeof v[0] === 'number') && typeof v[1] === 'number';
const nodeIds = (graph: Graph) => Object.keys(graph).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));

/** A string input's value: the string itself, or the string a linked node (a primitive, a text box, a concatenation) gives. */
function stringValue(graph: Graph, value: unknown, seen: Set<string>): string | undefined {
  if (typeof value === 'string') return value;
  if (!isLink(value)) return undefined;
  const id = String(value[0]);
  const node = graph[id];
  if (!node?.inputs || seen.has(id)) return undefined;
  seen.add(id);
  for (const key of ['text', 'string', 'value', 'prompt', 'text_a', 'string_a']) {
    const s = stringValue(graph, node.inputs[key], seen);
    if (s !== undefined) return s;
  }
  return undefined;
}

/**
 * The text of the prompt encoder a conditioning link comes from: a CLIPTextEncode (or a variant such as
 * CLIPTextEncodeSDXL) directly, or through nodes that pass conditioning on (ControlNet, area, guidance,
 * combine nodes), following their conditioning inputs first.
 */
function conditioningText(graph: Graph, link: unknown, seen: Set<string>): string | undefined {
  if (!isLink(link)) return undefined;
  const id = String(link[0]);
  const node = graph[id];
  if (!node?.inputs || seen.has(id)) return undefined;
  seen.add(id);
  const inputs = node.inputs;
  if (typeof node.class_type === 'string' && node.class_type.startsWith('CLIPTextEncode')) {
    for (const key of ['text', 'text_g', 'clip_l', 't5xxl', 'text_l', 'prompt']) {
      const s = stringValue(graph, inputs[key], new Set());
      if (s !== undefined) return s;
    }
    return undefined;
  }
  const keys = Object.keys(inputs).sort((a, b) => Number(!/conditioning|positive/.test(a)) - Number(!/conditioning|positive/.test(b)));
  for (const key of keys) {
    if (/negative/.test(key)) continue;
    const s = conditioningText(graph, inputs[key], seen);
    if (s !== undefined) return s;
  }
  return undefined;
}

/**
 * The positive prompt of a ComfyUI API graph (the `prompt` chunk ComfyUI writes into its PNGs): the text
 * of the CLIPTextEncode that feeds the `positive` input of the first sampler (or guider) by node id,
 * following links. Undefined when the graph has no sampler fed by a text encoder.
 */
export function comfyGraphPrompt(graph: unknown): string | undefined {
  if (typeof graph !== 'object' || graph === null || Array.isArray(graph)) return undefined;
  const g = graph as Graph;
  for (const id of nodeIds(g)) {
    const positive = g[id]?.inputs?.positive;
    if (positive === undefined) continue;
    const text = conditioningText(g, positive, new Set([id]));
    if (text !== undefined) return text;
  }
  return undefined;
}

/**
 * The prompt of Automatic1111's `parameters` text: the lines before the one that starts "Negative prompt:",
 * or, without a negative prompt, before the settings line ("Steps: ..."), which is the last.
 */
export function a1111Prompt(parameters: string): string {
  const lines = parameters.replace(/\r\n?/g, '\n').split('\n');
  let end = lines.findIndex((l) => l.startsWith('Negative prompt:'));
  if (end < 0) end = lines.length > 1 && /^Steps: /.test(lines.at(-1)!) ? lines.length - 1 : lines.length;
  return lines.slice(0, end).join('\n').trim();
}

/**
 * The prompt a generator wrote into a PNG's text chunks: Automatic1111's `parameters`, or ComfyUI's `prompt`
 * graph (a `prompt` chunk that is plain text, as some tools write, is taken as the prompt). Undefined for
 * other images, and for PNGs without one.
 */
export function embeddedPrompt(image: Uint8Array): EmbeddedPrompt | undefined {
  const texts = pngTextChunks(Buffer.from(image.buffer, image.byteOffset, image.byteLength));
  const parameters = texts.get('parameters');
  if (parameters !== undefined) {
    const prompt = a1111Prompt(parameters);
    if (prompt) return { prompt, source: 'a1111' };
  }
  const raw = texts.get('prompt');
  if (raw === undefined) return undefined;
  let graph: unknown;
  try {
    graph = JSON.parse(raw);
  } catch {
    return raw.trim() ? { prompt: raw.trim(), source: 'comfyui' } : undefined;
  }
  const prompt = comfyGraphPrompt(graph)?.trim();
  return prompt ? { prompt, source: 'comfyui' } : undefined;
}

/** The prompt a generator wrote into a PNG file, read from the chunks before its pixels (see embeddedPrompt). */
export async function embeddedPromptOfFile(path: string): Promise<EmbeddedPrompt | undefined> {
  const head = await readPngHead(path);
  return head ? embeddedPrompt(head) : undefined;
}
