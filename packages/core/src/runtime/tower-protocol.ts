import type { ErrorCode } from '../errors.js';
import type { ExecutionDevice, SessionOptions } from './device.js';

/** Messages between the scorer and its inference worker. Buffers move, they are not copied. */
export type TowerRequest =
  | { type: 'open'; path: string; options: SessionOptions; inputName: string; outputName: string; perImage: boolean }
  | { type: 'run'; id: number; pixels: ArrayBuffer; count: number; size: number };

export type TowerResponse =
  | { type: 'opened'; device: ExecutionDevice; skipped: { device: ExecutionDevice; reason: string }[]; inputNames: string[]; outputNames: string[] }
  | { type: 'result'; id: number; embeds: ArrayBuffer; dims: number[]; dtype: string; runMs: number }
  | { type: 'error'; id?: number; code: ErrorCode; message: string; kind: 'device' | 'usage' | 'bundle' | 'other' };
