import { sharp } from '@clip-agiqa/core/internal';

/** A smooth PNG of side x side pixels: large in pixels, small on the wire, like a generated image upscaled. */
export async function smoothPng(side: number, seed = 0): Promise<Buffer> {
  const svg = `<svg width="${side}" height="${side}" xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="rgb(${seed % 255},40,200)"/><stop offset="1" stop-color="rgb(250,${(seed * 37) % 255},20)"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/><circle cx="${side / 2}" cy="${side / 3}" r="${side / 5}" fill="white"/></svg>`;
  return sharp(Buffer.from(svg), { limitInputPixels: false }).png({ compressionLevel: 9 }).toBuffer();
}
