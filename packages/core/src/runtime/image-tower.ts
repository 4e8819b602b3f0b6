import * as ort from 'onnxruntime-node';

import { BundleError, UsageError } from '../errors.js';
import type { ExecutionDevice } from './device.js';

/** The bundle's image encoder: pixel_values [N,3,S,S] -> image_embeds [N,D]. */
export class ImageTower {
  constructor(
    private readonly session: ort.InferenceSession,
    readonly device: ExecutionDevice,
    private readonly inputName: string,
    private readonly outputName: string,
    readonly size: number,
    readonly embedDim: number,
    source: string,
  ) {
    if (!session.inputNames.includes(inputName) || !session.outputNames.includes(outputName)) {
      throw new BundleError('SHAPE_MISMATCH',
        `image encoder has inputs [${session.inputNames}] and outputs [${session.outputNames}], the manifest names ${inputName} -> ${outputName}`, { input: source });
    }
  }

  /** Embeds `count` images laid out in `pixels` as [count,3,S,S]. */
  async embed(pixels: Float32Array, count: number): Promise<Float32Array> {
    const plane = 3 * this.size * this.size;
    if (pixels.length !== count * plane) {
      throw new UsageError('SHAPE_MISMATCH', `pixel tensor has ${pixels.length} values, ${count} images of 3x${this.size}x${this.size} need ${count * plane}`);
    }
    const input = new ort.Tensor('float32', pixels, [count, 3, this.size, this.size]);
    const result = await this.session.run({ [this.inputName]: input });
    const output = result[this.outputName]!;
    const dims = output.dims;
    if (output.type !== 'float32' || dims.length !== 2 || dims[0] !== count || dims[1] !== this.embedDim) {
      throw new BundleError('SHAPE_MISMATCH', `image encoder returned ${output.type} [${dims}], expected float32 [${count},${this.embedDim}]`);
    }
    return output.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
