import type * as Ort from 'onnxruntime-node';

import { ImportError } from '../../errors.js';
import { onnxRuntime } from '../../runtime/native.js';

/** Opens an ONNX file on the CPU, quietly; an unreadable graph is refused naming the file. */
export async function openOnnx(path: string): Promise<Ort.InferenceSession> {
  try {
    return await onnxRuntime().InferenceSession.create(path, { executionProviders: ['cpu'], logSeverityLevel: 4, graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new ImportError('CORRUPT_ONNX', `ONNX Runtime cannot load it: ${((e as Error).message ?? String(e)).split('\n')[0]}`, { input: path, cause: e });
  }
}

export function requireIo(session: Ort.InferenceSession, path: string, inputs: string[], output: string, what: string): void {
  const missing = [...inputs.filter((n) => !session.inputNames.includes(n)), ...(session.outputNames.includes(output) ? [] : [output])];
  if (missing.length) {
    throw new ImportError('NOT_A_CLIP_MODEL',
      `not CLIP's ${what}: it has inputs [${session.inputNames}] and outputs [${session.outputNames}], lacking ${missing.join(', ')}` +
      (missing.includes(output) ? ` (export it with its projection, as Optimum's ${what === 'image tower' ? 'CLIPVisionModelWithProjection' : 'CLIPTextModelWithProjection'})` : ''),
      { input: path });
  }
}

/** Runs `session` and returns `output` as float32 [rows, D]; a failure is refused naming the file. */
export async function runProbe(session: Ort.InferenceSession, path: string, feeds: Record<string, Ort.Tensor>, output: string, rows: number,
  onError: (message: string) => ImportError = (m) => new ImportError('CORRUPT_ONNX', m, { input: path })): Promise<{ data: Float32Array; dim: number }> {
  let out: Ort.InferenceSession.OnnxValueMapType;
  try {
    out = await session.run(feeds, [output]);
  } catch (e) {
    throw onError(((e as Error).message ?? String(e)).split('\n')[0]!.split('\u001b')[0]!);
  }
  const t = out[output]!;
  if (t.type !== 'float32' || t.dims.length !== 2 || t.dims[0] !== rows) {
    throw new ImportError('NOT_A_CLIP_MODEL', `${output} is ${t.type} [${t.dims}], expected float32 [${rows}, D]`, { input: path });
  }
  return { data: Float32Array.from(t.data as Float32Array), dim: t.dims[1]! };
}

/**
 * Deterministic pseudo-random values in [-2, 2) (a Weyl sequence, the same on every import): the accuracy
 * guard's inputs, spread like normalised pixels.
 */
export function guardInputs(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  const golden = 0.6180339887498949;
  for (let i = 0; i < count; i++) {
    const u = ((i + 1) * golden + seed * 0.7548776662466927) % 1;
    out[i] = 4 * u - 2;
  }
  return out;
}
