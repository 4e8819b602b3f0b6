import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type BlockList, type LookupFunction } from 'node:net';

import { FetchError } from '../errors.js';
import { blockedReason } from './ip.js';

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

export interface SafeFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Private ranges that may nevertheless be reached. */
  allow?: BlockList;
  /** DNS resolution (the system's by default); every address it returns is checked. */
  resolve?: Resolver;
  /** Aborts the exchange (e.g. at shutdown). */
  signal?: AbortSignal;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface FetchedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  url: string;
}

/**
 * Fetches an http(s) URL without letting it reach private networks: the host is resolved once, every
 * address checked (IPv4, IPv6 and IPv4-mapped forms), and the connection made to a checked address;
 * redirects are followed up to a limit and checked again; the body is capped in size and the whole
 * exchange in time.
 */
export async function safeFetch(url: string, o: SafeFetchOptions): Promise<FetchedResponse> {
  const deadline = o.signal ? AbortSignal.any([AbortSignal.timeout(o.timeoutMs), o.signal]) : AbortSignal.timeout(o.timeoutMs);
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const response = await fetchOnce(current, o, deadline);
    const location = response.headers.location;
    if (response.status >= 300 && response.status < 400 && location && o.method !== 'POST') {
      if (redirects >= o.maxRedirects) throw new FetchError('TOO_MANY_REDIRECTS', `${url}: more than ${o.maxRedirects} redirects`);
      current = new URL(location, current).toString();
      continue;
    }
    return response;
  }
}

function parseUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FetchError('BAD_URL', `not a URL: ${url.slice(0, 200)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FetchError('BAD_URL', `only http and https URLs are fetched, not ${u.protocol}`);
  if (u.username || u.password) throw new FetchError('BAD_URL', 'URLs with credentials are not fetched');
  return u;
}

/** The addresses a host resolves to, each checked against the blocked ranges (BLOCKED_ADDRESS), or NETWORK when it does not resolve. */
export async function checkedAddresses(host: string, o: Pick<SafeFetchOptions, 'allow' | 'resolve'>): Promise<LookupAddress[]> {
  const literal = host.replace(/^\[|\]$/g, '');
  const addresses = isIP(literal) ? [{ address: literal, family: isIP(literal) }] : await (o.resolve ?? systemResolver)(host).catch((e: Error) => {
    throw new FetchError('NETWORK', `cannot resolve ${host}: ${e.message}`);
  });
  if (addresses.length === 0) throw new FetchError('NETWORK', `${host} has no address`);
  for (const a of addresses) {
    const reason = blockedReason(a.address, o.allow);
    if (!reason) continue;
    // A literal address is the sender's own; one a name resolved to is ours and stays in the logs.
    if (isIP(literal)) throw new FetchError('BLOCKED_ADDRESS', `refused ${host}: ${reason}`);
    throw new FetchError('BLOCKED_ADDRESS', `refused ${host}: it resolves to a private, loopback, link-local, multicast or reserved address`, `${host} -> ${reason}`);
  }
  return addresses;
}

async function fetchOnce(url: string, o: SafeFetchOptions, deadline: AbortSignal): Promise<FetchedResponse> {
  const u = parseUrl(url);
  const addresses = await checkedAddresses(u.hostname, o);
  // Connect only to the addresses checked above: no second resolution can swap them.
  const lookup: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<FetchedResponse>((resolve, reject) => {
    const fail = (e: Error) => reject(e instanceof FetchError ? e : deadline.aborted
      ? new FetchError('TIMEOUT', `${url}: no complete answer within ${o.timeoutMs} ms`)
      : new FetchError('NETWORK', `${url}: ${(e as NodeJS.ErrnoException).code ?? 'the connection failed'}`, e.message));
    const req = request(u, {
      method: o.method ?? 'GET', headers: { 'user-agent': 'clip-agiqa-webhook', ...o.headers }, lookup, agent: false, signal: deadline,
    }, (res: IncomingMessage) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > o.maxBytes) {
        fail(new FetchError('TOO_LARGE', `${url}: ${declared} bytes exceeds the ${o.maxBytes}-byte limit`));
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > o.maxBytes) {
          fail(new FetchError('TOO_LARGE', `${url}: the body exceeds the ${o.maxBytes}-byte limit`));
          res.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url }));
      res.on('error', fail);
      res.on('aborted', () => fail(new Error('connection closed mid-body')));
    });
    req.on('error', fail);
    req.end(o.body);
  });
}
