import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { FetchError } from '@clip-agiqa/webhook';
import { blockedReason, parseAllowList, safeFetch, unmapIPv4, type SafeFetchOptions } from '@clip-agiqa/webhook/internal';

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
    await assert.rejects(safeFetch('http://images.example/a.png', { ...base, resolve }), (e: unknown) => {
      assert.ok(e instanceof FetchError && e.code === 'BLOCKED_ADDRESS');
      assert.doesNotMatch(e.message, /10\.20\.30\.40/, 'the sender is not told what our resolver answered');
      assert.match(e.detail!, /10\.20\.30\.40/, 'the operator is');
      return true;
    });
    assert.equal(unmapIPv4('::ffff:a9fe:a9fe'), '169.254.169.254');
    assert.match(blockedReason('::ffff:169.254.169.254')!, /private|link-local/);
    assert.equal(blockedReason('93.184.215.14'), null);
    assert.equal(blockedReason('2606:2800:220:1::'), null);
  });

  it('blocks every IPv6 form that carries a private or loopback IPv4 address, and lets public ones through', () => {
    const table: [string, boolean][] = [
      // IPv4-mapped (::ffff:0:0/96), dotted and hex
      ['::ffff:127.0.0.1', true], ['::ffff:7f00:1', true], ['0:0:0:0:0:ffff:10.1.2.3', true], ['::ffff:8.8.8.8', false],
      // IPv4-compatible (deprecated ::/96)
      ['::127.0.0.1', true], ['::7f00:1', true], ['::a00:1', true], ['0:0:0:0:0:0:192.168.0.1', true],
      // IPv4-translated (::ffff:0:0:0/96)
      ['::ffff:0:127.0.0.1', true], ['::ffff:0:a9fe:a9fe', true],
      // 6to4 (2002::/16): the IPv4 address follows the prefix
      ['2002:7f00:1::', true], ['2002:a9fe:a9fe::1', true], ['2002:c0a8:0101:1::1', true], ['2002:0808:0808::1', false],
      // NAT64 well-known prefix (64:ff9b::/96) and local-use prefix
      ['64:ff9b::127.0.0.1', true], ['64:ff9b::a00:1', true], ['64:ff9b::808:808', false], ['64:ff9b:1::a00:1', true],
      // Teredo (2001::/32): the client address is the last 32 bits, inverted
      ['2001:0:4136:e378:8000:63bf:80ff:fffe', true], ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', false],
      // plain IPv6
      ['::1', true], ['::', true], ['fe80::1', true], ['fd00::1', true], ['2606:4700::1111', false],
    ];
    for (const [address, blocked] of table) assert.equal(blockedReason(address) !== null, blocked, address);
    const allow = parseAllowList(['127.0.0.0/8']);
    assert.equal(blockedReason('::ffff:127.0.0.1', allow), null, 'an allowed IPv4 range covers its mapped form');
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
