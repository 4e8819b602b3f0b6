// A loopback server speaking the Hugging Face hub's model URLs, serving a folder as a repository at one
// commit: the revision API, resolve URLs with 302 redirects of LFS files to a blob store, ETag /
// X-Repo-Commit / X-Linked-* headers, and Range requests.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

interface RepoFile { path: string; data: Buffer; sha256: string; blobId: string; lfs: boolean }

export interface HubServer {
  endpoint: string;
  commit: string;
  /** Every request's method and URL (and its Range header, if any), in order. */
  requests: string[];
  /** The next download of this file stops after half its bytes (the connection is cut). */
  cutNext(path: string): void;
  /** From now on this file is served with one byte changed (the listing keeps the true checksums). */
  corrupt(path: string): void;
  /** From now on the revision API fails this way (null: answers again). */
  failRevision(mode: 'server-error' | 'bad-json' | 'hang' | null): void;
  close(): Promise<void>;
}

function listFolder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix)).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(join(dir, rel)).isDirectory() ? listFolder(dir, rel) : [rel];
  });
}

function sendRange(req: IncomingMessage, res: ServerResponse, data: Buffer, headers: Record<string, string>, cut: boolean): void {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  let body = data;
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Number(range[2]) : data.length - 1;
    if (start >= data.length) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      return;
    }
    body = data.subarray(start, end + 1);
    res.writeHead(206, { ...headers, 'accept-ranges': 'bytes', 'content-length': String(body.length), 'content-range': `bytes ${start}-${end}/${data.length}` });
  } else {
    res.writeHead(200, { ...headers, 'accept-ranges': 'bytes', 'content-length': String(body.length) });
  }
  if (cut) {
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
    return;
  }
  res.end(body);
}

/** Serves `dir` as `repo` (OWNER/NAME) at a commit derived from its contents; `.onnx` files are LFS files. */
export async function startHubServer(repo: string, dir: string, options: { lfs?: (path: string) => boolean } = {}): Promise<HubServer> {
  const isLfs = options.lfs ?? ((p: string) => p.endsWith('.onnx'));
  const files: RepoFile[] = listFolder(dir).sort().map((path) => {
    const data = readFileSync(join(dir, path));
    return {
      path, data, lfs: isLfs(path),
      sha256: createHash('sha256').update(data).digest('hex'),
      blobId: createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'),
    };
  });
  const commit = createHash('sha1').update(files.map((f) => `${f.path}:${f.sha256}`).join('\n')).digest('hex');
  const requests: string[] = [];
  const cuts = new Set<string>();
  let revisionFailure: 'server-error' | 'bad-json' | 'hang' | null = null;
  const byPath = new Map(files.map((f) => [f.path, f]));
  const bySha = new Map(files.map((f) => [f.sha256, f]));
  const revisionOk = (rev: string) => rev === 'main' || rev === commit;

  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range ? ` (${req.headers.range})` : ''}`);
    const url = new URL(req.url ?? '/', 'http://hub.local');
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (api) {
      if (revisionFailure === 'server-error') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Error');
      if (revisionFailure === 'bad-json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>maintenance</html>');
      if (revisionFailure === 'hang') return;
      if (api[1] !== repo) return void res.writeHead(404, { 'content-type': 'application/json', 'x-error-code': 'RepoNotFound' }).end('{"error":"Repository not found"}');
      if (!revisionOk(decodeURIComponent(api[2]!))) return void res.writeHead(404, { 'content-type': 'application/json', 'x-error-code': 'RevisionNotFound' }).end('{"error":"Invalid rev id"}');
      const blobs = url.searchParams.get('blobs') === 'true';
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        _id: 'x', id: repo, modelId: repo, sha: commit, private: false, gated: false, library_name: 'transformers.js',
        siblings: files.map((f) => ({
          rfilename: f.path,
          ...(blobs ? { blobId: f.blobId, size: f.lfs ? 134 : f.data.length, ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.data.length, pointerSize: 134 } } : {}) } : {}),
        })),
      }));
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve) {
      const file = byPath.get(decodeURIComponent(resolve[3]!));
      if (resolve[1] !== repo || !revisionOk(decodeURIComponent(resolve[2]!)) || !file) {
        return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
      }
      if (file.lfs) {
        // As the hub does: the resolve URL redirects LFS files to the storage backend, naming the blob.
        return void res.writeHead(302, {
          location: `/cas/blobs/${file.sha256}?X-Amz-Expires=3600`, 'x-repo-commit': commit, 'x-linked-etag': `"${file.sha256}"`,
          'x-linked-size': String(file.data.length), etag: `"${file.blobId}"`,
        }).end();
      }
      const cut = cuts.delete(file.path);
      return sendRange(req, res, file.data, { etag: `"${file.blobId}"`, 'x-repo-commit': commit }, cut);
    }
    const blob = /^\/cas\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = blob && bySha.get(blob[1]!);
    if (file) return sendRange(req, res, file.data, { etag: `"${file.sha256}"` }, cuts.delete(file.path));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`, commit, requests,
    cutNext: (path) => void cuts.add(path),
    failRevision: (mode) => void (revisionFailure = mode),
    corrupt(path) {
      const f = byPath.get(path)!;
      const at = f.data.length >> 1;
      f.data = Buffer.from(f.data);
      f.data[at] = f.data[at]! ^ 0xff;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
