import type { ModelBundleManifest } from '../../generated/model-bundle.js';
import { ImportError } from '../../errors.js';

type Preprocess = ModelBundleManifest['preprocess'];

/** PIL's resampling filters by the number Hugging Face image processors store. */
const RESAMPLE_NAMES: Record<number, string> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };
const PIL_BICUBIC = 3;

function refuse(file: string, message: string): never {
  throw new ImportError('UNSUPPORTED_PREPROCESS', message, { input: file });
}

function side(value: unknown, what: string, file: string): number {
  const v = value as { shortest_edge?: unknown; height?: unknown; width?: unknown } | null;
  const n = typeof value === 'number' ? value
    : what === 'size' && typeof v?.shortest_edge === 'number' ? v.shortest_edge
      : what === 'crop_size' && typeof v?.height === 'number' && v.height === v.width ? v.height
        : refuse(file, `${what} ${JSON.stringify(value)} is not supported: the scorer resizes the shortest edge and centre-crops a square`);
  if (!Number.isInteger(n) || n < 1) refuse(file, `${what} ${JSON.stringify(value)}: a side must be a positive whole number of pixels`);
  return n;
}

function rgb(value: unknown, what: string, file: string): [number, number, number] {
  const v = typeof value === 'number' ? [value, value, value] : value;
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    return refuse(file, `${what} must be three numbers, got ${JSON.stringify(value)}`);
  }
  return [v[0], v[1], v[2]];
}

/**
 * The bundle's test-time recipe from a Hugging Face `preprocessor_config.json` (CLIPImageProcessor or the
 * older CLIPFeatureExtractor): shortest edge, centre crop, resample, rescale and mean/std are read, never
 * assumed. A recipe the scorer cannot reproduce exactly is refused rather than approximated.
 */
export function preprocessFromConfig(json: Record<string, unknown>, file: string): Preprocess {
  if (json.do_resize === false) refuse(file, 'do_resize is false: images would need to arrive at the model size already');
  if (json.do_center_crop === false) refuse(file, 'do_center_crop is false: the scorer always centre-crops');
  const size = side(json.size, 'size', file);
  const crop = json.crop_size === undefined ? size : side(json.crop_size, 'crop_size', file);
  if (crop !== size) refuse(file, `crop_size ${crop} differs from the resized shortest edge ${size}: not supported`);
  const resample = json.resample ?? PIL_BICUBIC;
  if (resample !== PIL_BICUBIC) refuse(file, `resample ${String(resample)} (${RESAMPLE_NAMES[resample as number] ?? 'unknown'}) is not supported; the scorer resizes bicubic (3) exactly as PIL`);
  const rescale = json.do_rescale === false ? 1 : (json.rescale_factor ?? 1 / 255);
  if (typeof rescale !== 'number' || Math.abs(rescale - 1 / 255) > 1e-9) refuse(file, `rescale_factor ${String(rescale)} is not supported (pixels are scaled by 1/255)`);
  const normalize = json.do_normalize !== false;
  const mean = normalize ? rgb(json.image_mean, 'image_mean', file) : [0, 0, 0] as [number, number, number];
  const std = normalize ? rgb(json.image_std, 'image_std', file) : [1, 1, 1] as [number, number, number];
  if (std.some((s) => !(s > 0))) refuse(file, `image_std must be positive, got ${JSON.stringify(std)}`);
  // transformers' center_crop takes (side - size) // 2: floor, where torchvision rounds half to even.
  return { size, resize: 'shortest-edge', interpolation: 'bicubic', crop: 'center', crop_rounding: 'floor', mean, std, background: [255, 255, 255] };
}
