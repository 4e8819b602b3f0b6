import { readdir, stat } from 'node:fs/promises';
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

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, out);
    else if (entry.isFile() && hasImageExtension(entry.name) && !entry.name.endsWith('.agiqa.json')) out.push(path);
  }
}

/** An operand that names no file, folder or matching glob. */
export class PathError extends UsageError<'NO_SUCH_PATH'> {
  constructor(message: string) {
    super('NO_SUCH_PATH', message);
  }
}

/**
 * Expands command-line operands into files, in order, without duplicates: files as given, folders walked
 * recursively (image extensions, hidden entries skipped), globs matched when no such path exists.
 */
export async function expandPaths(operands: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const operand of operands) {
    const info = await stat(operand).catch(() => null);
    if (info?.isDirectory()) await walk(operand, files);
    else if (info) files.push(operand);
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
  return files.filter((f) => {
    const key = resolve(f);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
