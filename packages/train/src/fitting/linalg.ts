import { readFile } from 'node:fs/promises';

import type * as Ort from 'onnxruntime-node';

import { UsageError } from '@clip-agiqa/core';
import { onnxRuntime } from '@clip-agiqa/core/internal';

/** C = op(A) @ op(B), row-major float32; op transposes when asked. */
export interface MatmulBackend {
  gemm(a: Float32Array, aShape: [number, number], b: Float32Array, bShape: [number, number], transA: boolean, transB: boolean): Promise<Float32Array>;
  close(): Promise<void>;
}

function outShape(aShape: [number, number], bShape: [number, number], transA: boolean, transB: boolean): [number, number, number] {
  const [m, k] = transA ? [aShape[1], aShape[0]] : aShape;
  const [k2, n] = transB ? [bShape[1], bShape[0]] : bShape;
  if (k !== k2) throw new UsageError('SHAPE_MISMATCH', `gemm: inner dimensions ${k} and ${k2} differ`);
  return [m, k, n];
}

/** Plain JavaScript with float64 accumulation: the reference, and fine for small heads. */
export class JsBackend implements MatmulBackend {
  async gemm(a: Float32Array, aShape: [number, number], b: Float32Array, bShape: [number, number], transA: boolean, transB: boolean): Promise<Float32Array> {
    const [m, k, n] = outShape(aShape, bShape, transA, transB);
    const at = (i: number, p: number) => (transA ? a[p * aShape[1] + i]! : a[i * aShape[1] + p]!);
    const bt = (p: number, j: number) => (transB ? b[j * bShape[1] + p]! : b[p * bShape[1] + j]!);
    const c = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += at(i, p) * bt(p, j);
        c[i * n + j] = s;
      }
    }
    return c;
  }

  async close(): Promise<void> {}
}

/** ONNX Runtime's MLAS kernels through three one-node Gemm graphs shipped with this package. */
export class OrtBackend implements MatmulBackend {
  private constructor(private readonly sessions: Map<string, Ort.InferenceSession>) {}

  static async create(threads?: number): Promise<OrtBackend> {
    const sessions = new Map<string, Ort.InferenceSession>();
    for (const key of ['00', '01', '10']) {
      const model = await readFile(new URL(`../../graphs/gemm_t${key}.onnx`, import.meta.url));
      sessions.set(key, await onnxRuntime().InferenceSession.create(model, { graphOptimizationLevel: 'all', interOpNumThreads: 1, ...(threads ? { intraOpNumThreads: threads } : {}) }));
    }
    return new OrtBackend(sessions);
  }

  async gemm(a: Float32Array, aShape: [number, number], b: Float32Array, bShape: [number, number], transA: boolean, transB: boolean): Promise<Float32Array> {
    outShape(aShape, bShape, transA, transB);
    const key = `${transA ? 1 : 0}${transB ? 1 : 0}`;
    const session = this.sessions.get(key);
    if (!session) throw new UsageError('INVALID_ARGUMENT', `gemm: no graph for transposes ${key}`);
    const out = await session.run({ A: new (onnxRuntime().Tensor)('float32', a, aShape), B: new (onnxRuntime().Tensor)('float32', b, bShape) });
    return out.C!.data as Float32Array;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
  }
}
