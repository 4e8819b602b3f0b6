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

async function handle(request: TowerRequest): Promise<void> {
  if (request.type === 'open') {
    try {
      const opened = await openSession(request.path, request.options);
      session = opened.session;
      inputName = request.inputName;
      outputName = request.outputName;
      post({ type: 'opened', device: opened.device, skipped: opened.skipped, inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
    } catch (e) {
      post(errorMessage(e));
    }
    return;
  }
  try {
    const { id, count, size } = request;
    const input = new ort.Tensor('float32', new Float32Array(request.pixels), [count, 3, size, size]);
    const started = performance.now();
    const result = await session!.run({ [inputName]: input });
    const runMs = performance.now() - started;
    const output = result[outputName]!;
    const data = output.data as Float32Array;
    // Copy out of ONNX Runtime's buffer so it can be transferred whole.
    const embeds = data.slice().buffer;
    post({ type: 'result', id, embeds, dims: [...output.dims], dtype: output.type, runMs }, [embeds]);
  } catch (e) {
    post(errorMessage(e, request.id));
  }
}
