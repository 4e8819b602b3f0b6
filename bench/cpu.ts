// Which CPU the benchmark ran on, and the nominal peaks its numbers are compared against.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuInfo {
  vendor: string;
  family: number;
  model: number;
  name: string;
  /** Microarchitecture where the family/model says it (AMD Zen generations, Intel with AMX), else a flag summary. */
  kind: string;
  cores: number;
  mhz: number;
  avx2: boolean;
  avx512: boolean;
  vnni: 'avx512' | 'avx' | 'none';
  bf16: boolean;
  amx: boolean;
  /** fp32 FLOP per cycle per core at full vector throughput (two FMA pipes). */
  fp32FlopPerCycle: number;
  /** int8 operations (multiply + add = 2) per cycle per core of the u8s8 dot-product instructions. */
  int8OpsPerCycle: number;
}

function field(text: string, name: string): string {
  return new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
}

/** AMD family 25 holds Zen 3 and Zen 4; family 26 is Zen 5. */
function amdGeneration(family: number, model: number): string | null {
  if (family === 26) return 'Zen 5';
  if (family === 25) return (model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0xaf) ? 'Zen 4' : 'Zen 3';
  if (family === 23) return 'Zen 2 or earlier';
  return null;
}

export function cpuInfo(cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')): CpuInfo {
  const flags = new Set(field(cpuinfo, 'flags').split(/\s+/));
  const vendor = field(cpuinfo, 'vendor_id') || 'unknown';
  const family = Number(field(cpuinfo, 'cpu family'));
  const model = Number(field(cpuinfo, 'model'));
  const avx512 = flags.has('avx512f');
  const vnni = flags.has('avx512_vnni') ? 'avx512' : flags.has('avx_vnni') ? 'avx' : 'none';
  const amx = flags.has('amx_int8') || flags.has('amx_bf16');
  const generation = vendor === 'AuthenticAMD' ? amdGeneration(family, model) : null;
  // Zen 4 runs 512-bit instructions as two 256-bit halves, so AVX-512 does not double its peak; Zen 5
  // (server and desktop parts) and Intel's AVX-512 server cores have two full-width FMA pipes.
  const fullWidth512 = avx512 && generation !== 'Zen 4' && generation !== 'Zen 3';
  const fp32FlopPerCycle = (fullWidth512 ? 16 : 8) * 2 * 2;
  // VPDPBUSD: 4 u8×s8 products per 32-bit lane, two per cycle; without VNNI the two-instruction
  // VPMADDUBSW + VPMADDWD sequence gives about half that.
  const int8OpsPerCycle = vnni === 'none' ? fp32FlopPerCycle * 2 : fp32FlopPerCycle * 4;
  const kind = generation ?? [avx512 ? 'AVX-512' : flags.has('avx2') ? 'AVX2' : 'no AVX2', amx ? 'AMX' : ''].filter(Boolean).join(' ');
  return {
    vendor, family, model, name: field(cpuinfo, 'model name') || cpus()[0]?.model || 'unknown CPU', kind,
    cores: cpus().length, mhz: Number(field(cpuinfo, 'cpu MHz')) || cpus()[0]?.speed || 0,
    avx2: flags.has('avx2'), avx512, vnni, bf16: flags.has('avx512_bf16'), amx, fp32FlopPerCycle, int8OpsPerCycle,
  };
}

export function describeCpu(c: CpuInfo): string {
  const features = [c.avx512 ? 'AVX-512' : c.avx2 ? 'AVX2' : 'no AVX2', c.vnni === 'none' ? 'no VNNI' : `${c.vnni === 'avx512' ? 'AVX-512' : 'AVX'} VNNI`,
    c.bf16 ? 'AVX-512 BF16' : 'no BF16', c.amx ? 'AMX' : 'no AMX'];
  return `${c.name} (${c.vendor}, family ${c.family} model ${c.model}: ${c.kind}; ${features.join(', ')}), ${c.cores} cores, ${c.mhz.toFixed(0)} MHz nominal`;
}
