import assert from 'node:assert/strict';

import { bridgeClientMessageSchema, bridgeServerMessageSchema, encodeImageFrame, type BridgeClientMessage, type BridgeErrorMessage, type BridgeServerMessage } from '@clip-agiqa/comfyui';
import { compileSchema } from '@clip-agiqa/core/internal';
import { WebSocket } from 'ws';

const validateServer = compileSchema<BridgeServerMessage>(bridgeServerMessageSchema);
const validateClient = compileSchema<BridgeClientMessage>(bridgeClientMessageSchema);

/** A test client that checks every message it sends and receives against the protocol's schemas. */
export class TestClient {
  readonly messages: BridgeServerMessage[] = [];
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false, 'the bridge sends text frames only');
      const m = JSON.parse(data.toString()) as unknown;
      const checked = validateServer(m);
      assert.ok(checked.ok, `server message violates the schema: ${JSON.stringify(m)} ${JSON.stringify(checked)}`);
      this.messages.push(checked.value);
      this.waiters.splice(0).forEach((w) => w());
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static async connect(url: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    return new TestClient(ws);
  }

  send(message: unknown, validate = true): void {
    if (validate) assert.ok(validateClient(message).ok, `client message violates the schema: ${JSON.stringify(message)}`);
    this.ws.send(JSON.stringify(message));
  }

  async next<T extends BridgeServerMessage>(match: (m: BridgeServerMessage) => boolean, ms = 20_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.messages.findIndex(match);
      if (i >= 0) return this.messages.splice(i, 1)[0] as T;
      if (this.closed) throw new Error(`closed (${this.closed.code}) while waiting`);
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 100); });
    }
  }

  nextError(): Promise<BridgeErrorMessage> {
    return this.next<BridgeErrorMessage>((m) => m.type === 'error');
  }

  async hello(token?: string): Promise<void> {
    this.send({ type: 'hello', protocol: 1, client: 'test', ...(token ? { token } : {}) });
    await this.next((m) => m.type === 'welcome');
  }

  /** Sends a score request and its images; `prompts` gives the request's prompt and each image's own (undefined: none). */
  async score(id: string, images: Buffer[], policy: object = { mode: 'score' }, rgb?: { width: number; height: number }[],
    prompts: { prompt?: string; images?: (string | undefined)[] } = {}): Promise<BridgeServerMessage> {
    const spec = (i: number) => ({ ...(rgb?.[i] ? { format: 'rgb', ...rgb[i] } : { format: 'encoded' }), ...(prompts.images?.[i] === undefined ? {} : { prompt: prompts.images[i] }) });
    this.send({ type: 'score', id, policy, ...(prompts.prompt === undefined ? {} : { prompt: prompts.prompt }), images: images.map((_, i) => spec(i)) });
    images.forEach((im, i) => this.ws.send(encodeImageFrame(id, i, im)));
    return this.next((m) => 'id' in m && m.id === id);
  }

  close(): void {
    this.ws.close();
  }
}
