import { parseArgs } from 'node:util';

import { BRIDGE_DEFAULTS, startBridge } from '@clip-agiqa/comfyui';

import { parseNumber, type CliIO } from '../io.js';
import { SCORER_FLAGS, SCORER_FLAGS_HELP, scorerFromFlags } from '../scorer-flags.js';

export const BRIDGE_USAGE = `Usage: clip-agiqa bridge [options]

Runs the websocket bridge the ComfyUI node pack talks to: one scorer (and its GPU session) for any
number of ComfyUI instances. Protocol: schemas/bridge-*-message.schema.json. GET /healthz on the same port.

Options:
  --host H               (default ${BRIDGE_DEFAULTS.host})   --port N  (default ${BRIDGE_DEFAULTS.port})
  --token T              shared token clients must present (default: $CLIP_AGIQA_BRIDGE_TOKEN, else none)
  --stop-with-stdin      stop when standard input closes (how the ComfyUI nodes run the bridge they start:
                         it stops with ComfyUI, however ComfyUI ends)
  --status-page          serve a read-only HTML status page at GET /status (asks for the token; without
                         a token only on a loopback host)
${SCORER_FLAGS_HELP}`;

export async function bridgeCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: {
    ...SCORER_FLAGS, host: { type: 'string', default: BRIDGE_DEFAULTS.host }, port: { type: 'string' }, token: { type: 'string' },
    'status-page': { type: 'boolean', default: false }, 'stop-with-stdin': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
  } });
  if (values.help) {
    io.stdout.write(`${BRIDGE_USAGE}\n`);
    return 0;
  }
  const port = parseNumber('port', values.port, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port number from 1 to 65535 (0: any free port)') ?? BRIDGE_DEFAULTS.port;
  const token = values.token ?? process.env.CLIP_AGIQA_BRIDGE_TOKEN;
  const scorer = await scorerFromFlags(values, io);
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  try {
    bridge = await startBridge({ scorer, host: values.host, port, statusPage: values['status-page'], ...(token ? { token } : {}) });
  } catch (e) {
    await scorer.close();
    throw e;
  }
  io.stdout.write(`clip-agiqa bridge: listening on ${bridge.url} (model ${scorer.model.name}${scorer.model.untrained ? ', untrained' : ''})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
    if (values['stop-with-stdin']) {
      process.stdin.once('end', () => resolve()).once('close', () => resolve());
      process.stdin.resume();
    }
  });
  process.stdin.pause();
  await bridge.close();
  await scorer.close();
  return 0;
}
