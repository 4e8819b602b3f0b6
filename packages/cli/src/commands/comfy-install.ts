import { cp, lstat, rm, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { CliUsageError, type CliIO } from '../io.js';

/** The node pack folder shipped inside @clip-agiqa/comfyui. */
export function nodePackDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@clip-agiqa/comfyui/package.json')), 'comfyui_nodes');
}

/** `clip-agiqa comfy install-nodes`: the node pack copied (or linked) into ComfyUI/custom_nodes. */
export async function installNodes(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: {
    comfyui: { type: 'string' }, link: { type: 'boolean', default: false }, force: { type: 'boolean', default: false },
  } });
  if (!values.comfyui) throw new CliUsageError('install-nodes needs --comfyui DIR (the ComfyUI folder, with custom_nodes/ in it)');
  const root = resolve(values.comfyui);
  const customNodes = join(root, 'custom_nodes');
  if (!(await stat(customNodes).catch(() => null))?.isDirectory()) {
    throw new CliUsageError(`--comfyui: ${root} has no custom_nodes folder: is it a ComfyUI installation?`);
  }
  const target = join(customNodes, 'comfyui-clip-agiqa');
  if (await lstat(target).catch(() => null)) {
    if (!values.force) throw new CliUsageError(`${target} already exists: pass --force to replace it`);
    await rm(target, { recursive: true, force: true });
  }
  const source = nodePackDir();
  if (values.link) await symlink(source, target, 'dir');
  else await cp(source, target, { recursive: true, filter: (path) => !path.includes('__pycache__') });
  io.stdout.write(`${values.link ? 'linked' : 'copied'} the CLIP-AGIQA nodes to ${target}\n`);
  io.stderr.write(`Next: restart ComfyUI. The nodes start a local bridge themselves with \`clip-agiqa\` on ComfyUI's PATH; if it is not
there, set CLIP_AGIQA_CLI=${process.argv[1] ?? 'PATH/TO/clip-agiqa'} in ComfyUI's environment. For a bridge elsewhere set
CLIP_AGIQA_BRIDGE_URL / CLIP_AGIQA_BRIDGE_TOKEN (or ~/.config/clip-agiqa/comfyui.json).\n`);
  return 0;
}
