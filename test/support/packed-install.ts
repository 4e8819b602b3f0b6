// Installing the packed packages the way a user does: a fresh folder outside this repository (so its
// .npmrc does not apply), no network, npm's cache alone.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from './helpers.js';

/** Every package of the repository, by folder name (root package.json's workspaces). */
export const WORKSPACES = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces.map((w) => w.split('/').pop()!);
export interface PackedFile { filename: string; name: string; files: { path: string }[] }
export interface LockEntry { version?: string; dev?: boolean; link?: boolean; dependencies?: Record<string, string>; [key: string]: unknown }

/**
 * The environment of a user's shell without network: none of the npm_* settings `npm test` hands its
 * children (the repo's .npmrc among them), and onnxruntime-node's download (global-agent honours these
 * variables) sent to a closed loopback port, so it fails here whether or not the machine is online.
 */
export function userEnv(port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry)$/i.test(k)));
  delete env.ONNXRUNTIME_NODE_INSTALL;
  delete env.ONNXRUNTIME_NODE_INSTALL_CUDA;
  const proxy = `http://127.0.0.1:${port}`;
  return { ...env, GLOBAL_AGENT_HTTP_PROXY: proxy, GLOBAL_AGENT_HTTPS_PROXY: proxy, ...extra };
}

export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A project depending on the tarballs of `workspaces` (default: all), with a lockfile pinning every other
 * package to the version and integrity this repository's lockfile holds: `npm ci --offline` then installs
 * from npm's cache alone (a plain `npm install` would need the registry's package metadata). A project of
 * packages without dependencies gets no third-party entries: it installs nothing else.
 */
export function writeProject(dir: string, tarballs: string, workspaces: readonly string[] = WORKSPACES): void {
  const repoLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const dependencies: Record<string, string> = {};
  const packages: Record<string, LockEntry> = { '': { name: 'app', dependencies } };
  let thirdParty = false;
  for (const ws of workspaces) {
    const { name, ...entry } = repoLock.packages[`packages/${ws}`]! as LockEntry & { name: string };
    const tarball = join(tarballs, `clip-agiqa-${ws}-${entry.version}.tgz`);
    dependencies[name] = `file:${tarball}`;
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    packages[`node_modules/${name}`] = { ...entry, resolved: `file:${tarball}`, integrity };
    thirdParty ||= Object.keys(entry.dependencies ?? {}).length > 0;
  }
  for (const [key, entry] of Object.entries(thirdParty ? repoLock.packages : {})) {
    if (entry.dev || entry.link || key === '') continue;
    const nested = /^packages\/([^/]+)\/(node_modules\/.+)$/.exec(key);
    if (key.startsWith('node_modules/')) packages[key] = entry;
    else if (nested) packages[`node_modules/@clip-agiqa/${nested[1]}/${nested[2]}`] = entry;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2));
}

/** Every installed copy of package `name` under `dir`'s node_modules, nested ones included. */
export function installedCopies(dir: string, name: string): string[] {
  const modules = join(dir, 'node_modules');
  if (!existsSync(modules)) return [];
  const copies: string[] = [];
  const entries = readdirSync(modules).flatMap((e) => (e.startsWith('@') ? readdirSync(join(modules, e)).map((s) => `${e}/${s}`) : [e]));
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    const path = join(modules, entry);
    if (entry === name && existsSync(join(path, 'package.json'))) copies.push(path);
    copies.push(...installedCopies(path, name));
  }
  return copies;
}

/** Bytes of every file under `dir`. */
export function diskSize(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
}
