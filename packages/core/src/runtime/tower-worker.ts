// Runs the image tower on its own thread: onnxruntime-node's run() holds the thread it is called on,
// so the scorer's thread stays free to decode and resize the next images meanwhile.
import { parentPort } from 'node:worker_threads';

import * as ort from 'onnxruntime-node';

import { BundleError, ClipAgiqaError, DeviceError, UsageError } from '../errors.js';
import { openSession } from './device.js';
import type { TowerRequest, TowerResponse } from './tower-protocol.js';

let session: ort.InferenceSession | undefined;
let inputName = '';
let outputName = '';
let perImage = false;

function post(message: TowerResponse, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

function errorMessage(e: unknown, id?: number): TowerResponse {
  const kind = e instanceof DeviceError ? 'device' : e instanceof UsageError ? 'usage' : e instanceof BundleError ? 'bundle' : 'other';
  // Anything ONNX Runtime throws while running (out of memory, a kernel failing) is an inference failure.
  const code = e instanceof ClipAgiqaError ? e.code : 'INFERENCE_FAILED';
  return { type: 'error', id, code, message: (e as Error).message ?? String(e), kind };
}

parentPort!.on('message', (request: TowerRequest) => {
  void handle(request);
});

interface RunOutput {
  embeds: Float32Array;
  dims: number[];
  dtype: string;
}

async function runOnce(pixels: Float32Array, count: number, size: number): Promise<RunOutput> {
  const result = await session!.run({ [inputName]: new ort.Tensor('float32', pixels, [count, 3, size, size]) });
  const output = result[outputName]!;
  // Copy out of ONNX Runtime's buffer so it can be transferred whole.
  return { embeds: (output.data as Float32Array).slice(), dims: [...output.dims], dtype: output.type };
}

/** One run per image, for graphs whose output for an image depends on the rest of the batch. */
async function runEach(pixels: Float32Array, count: number, size: number): Promise<RunOutput> {
  const plane = 3 * size * size;
  const rows: RunOutput[] = [];
  for (let i = 0; i < count; i++) {
    const one = await runOnce(pixels.subarray(i * plane, (i + 1) * plane), 1, size);
    if (one.dtype !== 'float32' || one.dims.length !== 2 || one.dims[0] !== 1) return one; // the caller refuses the shape
    rows.push(one);
  }
  const dim = rows[0]!.dims[1]!;
  const embeds = new Float32Array(count * dim);
  rows.forEach((r, i) => embeds.set(r.embeds, i * dim));
  return { embeds, dims: [count, dim], dtype: 'float32' };
}

async function handle(request: TowerRequest): Promise<void> {
  if (request.type === 'open') {
    try {
      const opened = await openSession(request.path, request.options);
      session = opened.session;
      inputName = request.inputName;
      outputName = request.outputName;
      perImage = request.perImage;
      post({ type: 'opened', device: opened.device, skipped: opened.skipped, inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
    } catch (e) {
      post(errorMessage(e));
    }
    return;
  }
  try {
    const { id, count, size } = request;
    const pixels = new Float32Array(request.pixels);
    const started = performance.now();
    const output = perImage && count > 1 ? await runEach(pixels, count, size) : await runOnce(pixels, count, size);
    const runMs = performance.now() - started;
    post({ type: 'result', id, embeds: output.embeds.buffer as ArrayBuffer, dims: output.dims, dtype: output.dtype, runMs }, [output.embeds.buffer as ArrayBuffer]);
  } catch (e) {
    post(errorMessage(e, request.id));
  }
}
