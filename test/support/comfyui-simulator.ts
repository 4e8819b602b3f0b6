// A ComfyUI protocol simulator for tests: the HTTP routes and websocket messages of ComfyUI 0.8.0, in
// the order a real server sends them (status broadcasts, execution_start, execution_cached, executing
// per node, binary image frames, executed, execution_success / _error / _interrupted, then
// executing{node:null}), with its history and the faults the runner must survive (restarts, a frozen
// process, a hung node, dropped websockets). Its nodes and prompt validation: comfyui-simulator-nodes.ts.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { WebSocketServer, type WebSocket } from 'ws';

import { ExecutionFailure, NODES, outputNodes, validatePrompt, type Item, type NodeContext, type Prompt } from './comfyui-simulator-nodes.js';

export interface SimulatorOptions {
  /** Time each node takes (default 5 ms). */
  nodeDelayMs?: number;
  /** Behave like a server that predates preview metadata (always type-1 frames). */
  noFeatureFlags?: boolean;
}

/** Resolves when the condition holds, polling (the simulator's pauses are flags checked between steps). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

export class ComfySimulator implements NodeContext {
  readonly files = new Map<string, Buffer>();
  counter = 0;
  private http!: Server;
  private wss!: WebSocketServer;
  private readonly sockets = new Map<string, WebSocket>();
  private readonly metadata = new Set<string>();
  private queue: Item[] = [];
  private running: Item | null = null;
  private history = new Map<string, Record<string, unknown>>();
  private number = 0;
  private interruptFlag = false;
  private pumping = false;
  /** Incremented when the server stops: runs of an earlier process are dropped. */
  private epoch = 0;
  private frozen = false;
  private readonly unanswered = new Set<{ destroy(): void }>();
  private hung = false;
  /** Times a SaveImageWebsocket node drops its client's websocket just before sending its frames. */
  websocketDrops = 0;
  /** Prompts that will fail at their first node as a GPU running out of memory does (the next ones run). */
  outOfMemory = 0;
  /** After this many more prompts finish, the server goes away for good (a crash nobody restarts). */
  crashAfter = Infinity;
  port = 0;
  /** The raw bodies of every POST /prompt (JSON.parse would round integers above 2^53). */
  readonly promptBodies: string[] = [];
  /** Every prompt queued, by id, with the server's client id that queued it. */
  readonly queued = new Map<string, string | undefined>();

  private constructor(readonly o: SimulatorOptions) {}

  static async start(o: SimulatorOptions = {}, port = 0): Promise<ComfySimulator> {
    const sim = new ComfySimulator(o);
    await sim.listen(port);
    return sim;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async listen(port: number): Promise<void> {
    this.http = createServer((req, res) => void this.route(req, res).catch((e: Error) => { res.writeHead(500, { 'content-type': 'text/plain' }).end(`500 Internal Server Error\n\n${e.message}`); }));
    this.wss = new WebSocketServer({ noServer: true });
    this.http.on('upgrade', (req, socket, head) => {
      if (this.frozen) return void this.unanswered.add(socket); // accepted by the kernel, never answered
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname !== '/ws' && u.pathname !== '/api/ws') return socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, u.searchParams.get('clientId') ?? randomUUID().replace(/-/g, '')));
    });
    await new Promise<void>((r) => this.http.listen(port, '127.0.0.1', r));
    this.port = (this.http.address() as AddressInfo).port;
  }

  /**
   * Simulates a server restart: every connection drops, the port refuses connections for downMs (a real
   * ComfyUI with custom nodes takes 20-60 s to come back), then it listens again; unless keepState, the
   * queue and history are gone, as on a real restart.
   */
  async restart(keepState = false, downMs = 0): Promise<void> {
    await this.stop();
    if (!keepState) {
      this.queue = [];
      this.history = new Map();
      this.running = null;
    }
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.listen(this.port);
  }

  /**
   * A frozen process (stopped, or its event loop blocked): connections are accepted by the kernel but
   * nothing answers, neither HTTP nor websocket handshakes nor pings; execution stops. thaw() resumes.
   */
  freeze(): void {
    this.frozen = true;
    this.freezeSockets();
  }

  thaw(): void {
    this.frozen = false;
    this.hung = false;
    for (const ws of this.sockets.values()) (ws as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  /** A node that never returns (a deadlock in a custom node): the server answers HTTP and pings but sends no event. */
  hang(): void {
    this.hung = true;
  }

  /** The network drops one client's websocket; the server keeps running its prompts. */
  dropSocket(clientId: string | undefined): void {
    const ws = clientId ? this.sockets.get(clientId) : undefined;
    ws?.terminate();
    if (clientId) this.sockets.delete(clientId);
  }

  /** Stops reading from every websocket (a hung server or a dead link): pings go unanswered. */
  freezeSockets(): void {
    for (const ws of this.sockets.values()) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  async stop(): Promise<void> {
    this.epoch++;
    this.frozen = false;
    for (const socket of this.unanswered) socket.destroy();
    this.unanswered.clear();
    for (const ws of this.wss.clients) ws.terminate();
    this.sockets.clear();
    await new Promise<void>((r) => { this.http.close(() => r()); this.http.closeAllConnections(); });
  }

  wantsMetadata(clientId?: string): boolean {
    return !!clientId && this.metadata.has(clientId);
  }

  send(clientId: string | undefined, message: object): void {
    const ws = clientId ? this.sockets.get(clientId) : undefined;
    if (ws?.readyState === ws?.OPEN) ws?.send(JSON.stringify(message));
  }

  sendBinary(clientId: string | undefined, frame: Buffer): void {
    const targets = clientId ? [this.sockets.get(clientId)] : [...this.sockets.values()];
    for (const ws of targets) if (ws?.readyState === ws?.OPEN) ws?.send(frame);
  }

  /** The ids queued and running now. */
  queueIds(): { running: string[]; pending: string[] } {
    return { running: this.running ? [this.running.id] : [], pending: this.queue.map((i) => i.id) };
  }

  private broadcastStatus(): void {
    const message = JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: this.queue.length + (this.running ? 1 : 0) } } } });
    for (const ws of this.sockets.values()) ws.send(message);
  }

  /** Websocket connections accepted so far. */
  connections = 0;

  private onSocket(ws: WebSocket, clientId: string): void {
    this.connections++;
    this.sockets.get(clientId)?.close();
    this.sockets.set(clientId, ws);
    ws.send(JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: this.queue.length + (this.running ? 1 : 0) } }, sid: clientId } }));
    let first = true;
    ws.on('message', (data, isBinary) => {
      if (isBinary || !first) return;
      first = false;
      try {
        const m = JSON.parse(data.toString()) as { type?: string; data?: { supports_preview_metadata?: boolean } };
        if (m.type === 'feature_flags' && !this.o.noFeatureFlags) {
          if (m.data?.supports_preview_metadata) this.metadata.add(clientId);
          ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true, max_upload_size: 104857600 } }));
        }
      } catch { /* other client text is ignored */ }
    });
    ws.on('close', () => { if (this.sockets.get(clientId) === ws) this.sockets.delete(clientId); });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await until(() => !this.frozen);
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname.replace(/^\/api(?=\/)/, '');
    if (req.method === 'POST' && path === '/prompt') {
      const text = (await this.body(req)).toString();
      this.promptBodies.push(text);
      return this.postPrompt(JSON.parse(text) as Record<string, unknown>, res);
    }
    if (req.method === 'GET' && path === '/queue') {
      const item = (i: Item) => [i.number, i.id, i.prompt, i.extra, i.outputs];
      return this.json(res, 200, { queue_running: this.running ? [item(this.running)] : [], queue_pending: this.queue.map(item) });
    }
    if (req.method === 'POST' && path === '/queue') {
      const body = JSON.parse((await this.body(req)).toString() || '{}') as { delete?: string[]; clear?: boolean };
      if (body.clear) this.queue = [];
      if (body.delete) this.queue = this.queue.filter((i) => !body.delete!.includes(i.id));
      this.broadcastStatus();
      return void res.writeHead(200).end();
    }
    if (req.method === 'GET' && path.startsWith('/history/')) {
      const id = decodeURIComponent(path.slice('/history/'.length));
      return this.json(res, 200, this.history.has(id) ? { [id]: this.history.get(id) } : {});
    }
    if (req.method === 'GET' && path === '/view') {
      const file = this.files.get(`${u.searchParams.get('type') ?? 'output'}/${u.searchParams.get('subfolder') ?? ''}/${u.searchParams.get('filename') ?? ''}`);
      if (!file) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': 'image/png' }).end(file);
    }
    if (req.method === 'POST' && path === '/upload/image') {
      const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': req.headers['content-type']! }, body: await this.body(req) }).formData();
      const file = form.get('image') as File;
      const subfolder = String(form.get('subfolder') ?? '');
      this.files.set(`input/${subfolder}/${file.name}`, Buffer.from(await file.arrayBuffer()));
      return this.json(res, 200, { name: file.name, subfolder, type: 'input' });
    }
    if (req.method === 'POST' && path === '/interrupt') {
      const body = (await this.body(req)).toString();
      const target = body ? (JSON.parse(body) as { prompt_id?: string }).prompt_id : undefined;
      if (this.running && (!target || target === this.running.id)) this.interruptFlag = true;
      return void res.writeHead(200).end();
    }
    if (req.method === 'GET' && path === '/system_stats') return this.json(res, 200, { system: { comfyui_version: '0.8.0' }, devices: [{ name: 'cpu', type: 'cpu' }] });
    return void res.writeHead(404).end();
  }

  private postPrompt(body: Record<string, unknown>, res: ServerResponse): void {
    if (!body.prompt) return this.json(res, 400, { error: { type: 'no_prompt', message: 'No prompt provided', details: '', extra_info: {} }, node_errors: {} });
    const prompt = body.prompt as Prompt;
    const invalid = validatePrompt(prompt, this.files);
    if (invalid) return this.json(res, 400, invalid);
    const id = typeof body.prompt_id === 'string' ? body.prompt_id : randomUUID();
    const item: Item = { number: this.number++, id, prompt, extra: { client_id: body.client_id as string | undefined },
      outputs: outputNodes(prompt) };
    this.queue.push(item);
    this.queued.set(id, item.extra.client_id);
    this.json(res, 200, { prompt_id: id, number: item.number, node_errors: {} });
    this.broadcastStatus();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length) {
        const item = this.queue.shift()!;
        this.running = item;
        this.broadcastStatus();
        await this.execute(item);
      }
    } finally {
      this.pumping = false;
    }
  }

  private order(prompt: Prompt): string[] {
    const done = new Set<string>();
    const out: string[] = [];
    const visit = (id: string) => {
      if (done.has(id)) return;
      done.add(id);
      for (const v of Object.values(prompt[id]!.inputs)) if (Array.isArray(v) && typeof v[0] === 'string') visit(v[0]);
      out.push(id);
    };
    Object.keys(prompt).sort((a, b) => Number(b) - Number(a)).forEach(visit);
    return out;
  }

  private async execute(item: Item): Promise<void> {
    const client = item.extra.client_id;
    const messages: [string, Record<string, unknown>][] = [];
    const event = (type: string, data: Record<string, unknown>) => {
      messages.push([type, data]);
      this.send(client, { type, data });
    };
    const generation = this.epoch;
    event('execution_start', { prompt_id: item.id, timestamp: Date.now() });
    event('execution_cached', { nodes: [], prompt_id: item.id, timestamp: Date.now() });
    const values = new Map<string, unknown[]>();
    const outputs: Record<string, Record<string, unknown>> = {};
    const executed: string[] = [];
    let status: 'success' | 'error' = 'success';
    for (const node of this.order(item.prompt)) {
      if (this.epoch !== generation) return; // the server "restarted": this run is gone
      const n = item.prompt[node]!;
      if (this.interruptFlag) {
        this.interruptFlag = false;
        event('execution_interrupted', { prompt_id: item.id, node_id: node, node_type: n.class_type, executed, timestamp: Date.now() });
        status = 'error';
        break;
      }
      const state = (st: string) => this.send(client, { type: 'progress_state', data: { prompt_id: item.id, nodes: {
        ...Object.fromEntries(executed.map((id) => [id, { value: 1, max: 1, state: 'finished', node_id: id, prompt_id: item.id, display_node_id: id, parent_node_id: null, real_node_id: id }])),
        [node]: { value: 0, max: 1, state: st, node_id: node, prompt_id: item.id, display_node_id: node, parent_node_id: null, real_node_id: node } } } });
      state('running');
      this.send(client, { type: 'executing', data: { node, display_node: node, prompt_id: item.id } });
      await new Promise((r) => setTimeout(r, this.o.nodeDelayMs ?? 5));
      await until(() => (!this.frozen && !this.hung) || this.epoch !== generation);
      if (this.epoch !== generation) return;
      const inputs = Object.fromEntries(Object.entries(n.inputs).map(([k, v]) => [k, Array.isArray(v) ? values.get(String(v[0]))?.[Number(v[1])] : v]));
      try {
        if (this.outOfMemory > 0) {
          this.outOfMemory--;
          throw new ExecutionFailure('torch.OutOfMemoryError', 'CUDA out of memory. Tried to allocate 2.00 GiB');
        }
        const r = await NODES[n.class_type]!.run(inputs, { sim: this, item, node });
        values.set(node, r.outputs ?? []);
        if (r.ui) {
          outputs[node] = r.ui;
          this.send(client, { type: 'executed', data: { node, display_node: node, output: r.ui, prompt_id: item.id } });
        }
        executed.push(node);
      } catch (e) {
        const f = e as ExecutionFailure;
        event('execution_error', { prompt_id: item.id, node_id: node, node_type: n.class_type, executed, exception_message: f.message,
          exception_type: f.type ?? 'Exception', traceback: [], current_inputs: {}, current_outputs: executed, timestamp: Date.now() });
        status = 'error';
        break;
      }
    }
    if (status === 'success') event('execution_success', { prompt_id: item.id, timestamp: Date.now() });
    this.history.set(item.id, {
      prompt: [item.number, item.id, item.prompt, item.extra, item.outputs], outputs,
      status: { status_str: status, completed: status === 'success', messages }, meta: {},
    });
    this.running = null;
    this.broadcastStatus();
    this.send(client, { type: 'executing', data: { node: null, prompt_id: item.id } });
    if (--this.crashAfter <= 0) setTimeout(() => void this.stop(), 20);
  }
}
