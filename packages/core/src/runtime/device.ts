import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import type * as Ort from 'onnxruntime-node';

import { DeviceError, UsageError } from '../errors.js';
import { onnxRuntime } from './native.js';

export type ExecutionDevice = 'cpu' | 'cuda' | 'webgpu';
export type Device = ExecutionDevice | 'auto';

export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu', 'auto'];
/** The order `auto` tries devices in: the fastest that starts wins. */
export const AUTO_ORDER: readonly ExecutionDevice[] = ['cuda', 'webgpu', 'cpu'];

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads for the CPU provider (default: ONNX Runtime's choice, one per core). */
  threads?: number;
  /** Let idle intra-op threads spin for work (ONNX Runtime's default). Off where sessions share cores. */
  spinning?: boolean;
  /** ONNX Runtime's own log lines on stderr (default false: its errors become the DeviceError's message instead). */
  nativeLogs?: boolean | undefined;
  /** Record ONNX Runtime's per-operator profile into a JSON file named from this prefix, written by `endProfiling()`. */
  profileFilePrefix?: string;
}

const CUDA_FIX = 'this onnxruntime-node was installed without CUDA support: reinstall it with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` '
  + '(needs an NVIDIA driver, CUDA 12 and cuDNN 9), or use --device cpu';
const VULKAN_FIX = 'no Vulkan loader (libvulkan.so.1) is installed: install your GPU driver\'s Vulkan support (Debian/Ubuntu: apt-get install libvulkan1 mesa-vulkan-drivers), or use --device cpu';

/** Libraries a device needs that can be checked before ONNX Runtime tries (and logs its failure natively). */
function missingLibrary(device: ExecutionDevice): string | null {
  if (process.platform !== 'linux') return null;
  if (device === 'cuda') {
    const binding = dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
    const bin = join(binding, '..', 'bin', 'napi-v6', 'linux', process.arch);
    return existsSync(join(bin, 'libonnxruntime_providers_cuda.so')) ? null : CUDA_FIX;
  }
  if (device === 'webgpu') {
    const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, '/usr/lib64', '/usr/lib', '/usr/local/lib'];
    return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1'))) ? null : VULKAN_FIX;
  }
  return null;
}

export interface OpenedSession {
  session: Ort.InferenceSession;
  device: ExecutionDevice;
  /** Why each device that `auto` tried before this one did not start. */
  skipped: { device: ExecutionDevice; reason: string }[];
}

/** Devices this onnxruntime-node build was compiled with (they may still fail to start, e.g. no GPU). */
export function compiledDevices(): ExecutionDevice[] {
  const names = new Set(onnxRuntime().listSupportedBackends().map((b) => b.name));
  return AUTO_ORDER.filter((d) => names.has(d));
}

function sessionOptions(device: ExecutionDevice, options: SessionOptions, quiet: boolean): Ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    ...(options.profileFilePrefix ? { enableProfiling: true, profileFilePrefix: options.profileFilePrefix } : {}),
    logSeverityLevel: quiet ? 4 : 3,
  };
}

function firstLine(e: unknown): string {
  const msg = (e as Error).message ?? String(e);
  const adapter = /Failed to get a WebGPU adapter[^\n]*/.exec(msg);
  return (adapter?.[0] ?? msg.split('\n')[0] ?? msg).slice(0, 300);
}

/** Opens an ONNX model on the requested device. Only `auto` falls back; an explicit device either starts or throws. */
export async function openSession(modelPath: string, options: SessionOptions = {}): Promise<OpenedSession> {
  const device = options.device ?? 'cpu';
  if (!DEVICES.includes(device)) throw new UsageError('INVALID_ARGUMENT', `unknown device ${String(device)} (use ${DEVICES.join(', ')})`);
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads > 0)) {
    throw new UsageError('INVALID_ARGUMENT', `threads must be a positive integer, got ${options.threads}`);
  }
  const candidates = device === 'auto' ? AUTO_ORDER : [device];
  const skipped: OpenedSession['skipped'] = [];
  // ONNX Runtime's environment logger prints provider failures in red before the error is thrown.
  const ort = onnxRuntime();
  ort.env.logLevel = options.nativeLogs ? 'warning' : 'fatal';
  for (const d of candidates) {
    const missing = missingLibrary(d);
    if (missing) {
      if (device !== 'auto') throw new DeviceError('DEVICE_UNAVAILABLE', `device ${d} is not available: ${missing}`);
      skipped.push({ device: d, reason: missing });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions(d, options, !options.nativeLogs));
      return { session, device: d, skipped };
    } catch (e) {
      if (device !== 'auto') {
        throw new DeviceError('DEVICE_UNAVAILABLE', `device ${d} is not available: ${firstLine(e)}`, { cause: e });
      }
      skipped.push({ device: d, reason: firstLine(e) });
    }
  }
  throw new DeviceError('DEVICE_UNAVAILABLE', `no device could start: ${skipped.map((s) => `${s.device}: ${s.reason}`).join('; ')}`);
}
