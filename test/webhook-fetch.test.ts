import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { blockedReason, FetchError, parseAllowList, safeFetch, unmapIPv4, type SafeFetchOptions } from '@clip-agiqa/webhook';

const base: SafeFetchOptions = { maxBytes: 1 << 20, timeoutMs: 2000, maxRedirects: 3 };

async function refusedWith(p: Promise<unknown>, code: string, pattern?: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof FetchError, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe('SSRF-safe fetching', () => {
  let server: Server;
  let origin: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') res.end('hello');
      else if (req.url === '/to-private') res.writeHead(302, { location: 'http://10.1.2.3/secret' }).end();
      else if (req.url === '/to-metadata') res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
      else if (req.url === '/declared-huge') res.writeHead(200, { 'content-length': String(50 << 20) }).end();
      else if (req.url === '/endless') {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024);
        const pump = () => { while (res.write(chunk)); };
        res.on('drain', pump);
        pump();
      } else if (req.url === '/drip') {
        res.writeHead(200);
        const t = setInterval(() => res.write('x'), 50);
        res.on('close', () => clearInterval(t));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => { server.closeAllConnections(); server.close(); });

  it('refuses loopback, private, link-local, metadata and IPv4-mapped addresses, literal or resolved', async () => {
    const port = (server.address() as AddressInfo).port;
    for (const url of [`http://127.0.0.1:${port}/ok`, `http://[::1]:${port}/ok`, 'http://10.0.0.8/', 'http://169.254.169.254/latest/meta-data/',
      `http://[::ffff:127.0.0.1]:${port}/ok`, 'http://[::ffff:7f00:1]/', 'http://[fd00:ec2::254]/', 'http://0.0.0.0/', 'http://[fe80::1]/', 'http://224.0.0.1/']) {
      await refusedWith(safeFetch(url, base), 'BLOCKED_ADDRESS');
    }
    await refusedWith(safeFetch(`http://localhost:${port}/ok`, base), 'BLOCKED_ADDRESS');
    const resolve = async () => [{ address: '10.20.30.40', family: 4 }, { address: '93.184.215.14', family: 4 }];
    await refusedWith(safeFetch('http://images.example/a.png', { ...base, resolve }), 'BLOCKED_ADDRESS', /10\.20\.30\.40/);
    assert.equal(unmapIPv4('::ffff:a9fe:a9fe'), '169.254.169.254');
    assert.match(blockedReason('::ffff:169.254.169.254')!, /private|link-local/);
    assert.equal(blockedReason('93.184.215.14'), null);
    assert.equal(blockedReason('2606:2800:220:1::'), null);
  });

  it('refuses other schemes and credentials', async () => {
    await refusedWith(safeFetch('file:///etc/passwd', base), 'BAD_URL', /file:/);
    await refusedWith(safeFetch('ftp://example.com/a.png', base), 'BAD_URL');
    await refusedWith(safeFetch('http://user:pw@example.com/', base), 'BAD_URL');
    await refusedWith(safeFetch('not a url', base), 'BAD_URL');
  });

  it('fetches from an allowed range, and re-checks every redirect', async () => {
    const allow = parseAllowList(['127.0.0.1/32']);
    const r = await safeFetch(`${origin}/ok`, { ...base, allow });
    assert.equal(r.body.toString(), 'hello');
    await refusedWith(safeFetch(`${origin}/to-private`, { ...base, allow }), 'BLOCKED_ADDRESS', /10\.1\.2\.3/);
    await refusedWith(safeFetch(`${origin}/to-metadata`, { ...base, allow }), 'BLOCKED_ADDRESS', /169\.254\.169\.254/);
    await refusedWith(safeFetch(`${origin}/loop`, { ...base, allow }), 'TOO_MANY_REDIRECTS');
  });

  it('caps the body size (declared or streamed without end) and the time', async () => {
    const allow = parseAllowList(['127.0.0.0/8']);
    await refusedWith(safeFetch(`${origin}/declared-huge`, { ...base, allow }), 'TOO_LARGE');
    await refusedWith(safeFetch(`${origin}/endless`, { ...base, allow }), 'TOO_LARGE');
    const started = Date.now();
    await refusedWith(safeFetch(`${origin}/drip`, { ...base, allow, timeoutMs: 400 }), 'TIMEOUT');
    assert.ok(Date.now() - started < 2000);
  });
});
