import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { UsageError } from '@clip-agiqa/core';
import { glob, isDynamicPattern } from 'tinyglobby';

/** Extensions picked up when a folder is walked (files named explicitly are always taken). */
export const IMAGE_EXTENSIONS = new Set([
  'jpg', 'jpeg', 'jpe', 'jfif', 'png', 'apng', 'webp', 'avif', 'heic', 'heif', 'tif', 'tiff', 'gif', 'bmp', 'svg', 'svgz',
]);

function hasImageExtension(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.has(name.slice(dot + 1).toLowerCase());
}

/**
 * Walks a folder for image files. Symlinks are followed (to files and folders); a folder already on the
 * way down (a symlink cycle) or already walked is not entered again.
 */
async function walk(dir: string, out: string[], visited = new Set<string>()): Promise<void> {
  const real = await realpath(dir);
  if (visited.has(real)) return;
  visited.add(real);
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const target = entry.isSymbolicLink() ? await stat(path).catch(() => null) : entry;
    if (!target) continue; // a dangling link
    if (target.isDirectory()) await walk(path, out, visited);
    else if (target.isFile() && hasImageExtension(entry.name) && !entry.name.endsWith('.agiqa.json')) out.push(path);
  }
}

/** An operand that names no file, folder or matching glob. */
export class PathError extends UsageError<'NO_SUCH_PATH'> {
  constructor(message: string) {
    super('NO_SUCH_PATH', message);
  }
}

/** Operands expanded: the files in order, and the folders named explicitly that hold no image. */
export interface ExpandedPaths {
  files: string[];
  empty: string[];
}

/**
 * Expands command-line operands into files, in order, without duplicates: files as given, folders walked
 * recursively (image extensions, hidden entries skipped, symlinks followed), globs matched when no such
 * path exists. A folder named explicitly that yields no image is reported in `empty`.
 */
export async function expandPaths(operands: string[]): Promise<ExpandedPaths> {
  const files: string[] = [];
  const empty: string[] = [];
  for (const operand of operands) {
    const info = await stat(operand).catch(() => null);
    if (info?.isDirectory()) {
      const before = files.length;
      await walk(operand, files);
      if (files.length === before) empty.push(operand);
    } else if (info) files.push(operand);
    else if (isDynamicPattern(operand)) {
      const matches = (await glob(operand, { onlyFiles: false, expandDirectories: false, dot: false })).sort();
      if (matches.length === 0) throw new PathError(`no file matches ${operand}`);
      for (const m of matches) {
        if ((await stat(m)).isDirectory()) await walk(m, files);
        else files.push(m);
      }
    } else throw new PathError(`no such file or folder: ${operand}`);
  }
  const seen = new Set<string>();
  return {
    files: files.filter((f) => {
      const key = resolve(f);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }),
    empty,
  };
}
