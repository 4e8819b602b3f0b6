import type { RgbImage } from '@clip-agiqa/core';
import { cropRgb, pilBicubicResize } from '@clip-agiqa/core/internal';

import { Rng } from '../rng.js';

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** torchvision's RandomResizedCrop.get_params: area scale 0.08-1, aspect ratio 3/4-4/3, ten tries, then a centre crop. */
export function randomResizedCropBox(width: number, height: number, rng: Rng, scale: [number, number] = [0.08, 1], ratio: [number, number] = [3 / 4, 4 / 3]): CropBox {
  const area = width * height;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** A seed for view `view` of image `id`, so each view is reproducible whatever the processing order. */
export function viewSeed(id: string, view: number, seed: number): number {
  let h = 2166136261 ^ seed;
  for (const c of `${id}\u0000${view}`) h = Math.imul(h ^ c.codePointAt(0)!, 16777619);
  return h >>> 0;
}

/** One training view: a random resized crop to size x size (PIL bicubic) and a horizontal flip half the time. */
export function trainingView(image: RgbImage, size: number, rng: Rng): Uint8Array {
  const box = randomResizedCropBox(image.width, image.height, rng);
  const crop = cropRgb(image.data, image.width, box.left, box.top, box.width, box.height);
  const out = pilBicubicResize(crop, box.width, box.height, size, size);
  if (rng.next() < 0.5) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size / 2; x++) {
        const a = (y * size + x) * 3;
        const b = (y * size + (size - 1 - x)) * 3;
        for (let c = 0; c < 3; c++) [out[a + c], out[b + c]] = [out[b + c]!, out[a + c]!];
      }
    }
  }
  return out;
}
