import { BlockList, isIP } from 'node:net';

import { ConfigError } from '../errors.js';

/** Ranges no image URL or callback may reach unless allowed: private, loopback, link-local (cloud metadata), multicast, reserved. */
const BLOCKED: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'], ['10.0.0.0', 8, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['127.0.0.0', 8, 'ipv4'], ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'], ['192.0.0.0', 24, 'ipv4'], ['192.0.2.0', 24, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'], ['203.0.113.0', 24, 'ipv4'], ['224.0.0.0', 4, 'ipv4'], ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'], ['::1', 128, 'ipv6'], ['64:ff9b:1::', 48, 'ipv6'], ['100::', 64, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'], ['fc00::', 7, 'ipv6'], ['fe80::', 10, 'ipv6'], ['fec0::', 10, 'ipv6'], ['ff00::', 8, 'ipv6'],
];

const blocked = new BlockList();
for (const [net, prefix, type] of BLOCKED) blocked.addSubnet(net, prefix, type);

/** An IPv6 address as eight 16-bit groups (with an embedded dotted IPv4 tail), or null when it is not one. */
function ipv6Groups(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, null];
  const parse = (part: string) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === null ? [] : parse(tail);
  const groups = tail === null ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 ? groups : null;
}

const dottedQuad = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/**
 * The IPv4 address an IPv6 address carries, for every form that reaches one: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), 6to4
 * (2002:AABB:CCDD::/48), NAT64 (64:ff9b::/96) and Teredo (2001::/32, client address inverted).
 */
export function embeddedIPv4(address: string): string | null {
  const g = ipv6Groups(address.replace(/^\[|\]$/g, ''));
  if (!g) return null;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && (g[5] === 0xffff || g[5] === 0)) return dottedQuad(g[6]!, g[7]!);
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return dottedQuad(g[6]!, g[7]!);
  if (g[0] === 0x2002) return dottedQuad(g[1]!, g[2]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return dottedQuad(g[6]!, g[7]!);
  if (g[0] === 0x2001 && g[1] === 0) return dottedQuad(~g[6]! & 0xffff, ~g[7]! & 0xffff);
  return null;
}

/** An IPv6 address that carries an IPv4 one -> that IPv4 address; other addresses unchanged. */
export function unmapIPv4(address: string): string {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  return embeddedIPv4(a) ?? a;
}

/** A list of CIDR ranges (`10.0.0.0/8`, `fd00::/8`, or single addresses); a malformed one is a ConfigError. */
export function parseAllowList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.split('/');
    const type = isIP(net ?? '');
    if (!type) throw new ConfigError(`not an IP range: ${cidr}`);
    const prefix = bits === undefined ? (type === 4 ? 32 : 128) : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (type === 4 ? 32 : 128)) throw new ConfigError(`bad prefix length in ${cidr}`);
    list.addSubnet(net!, prefix, type === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/**
 * Why an address may not be reached, or null when it may. An IPv6 address that carries an IPv4 one
 * (mapped, compatible, 6to4, NAT64, Teredo) is judged by the IPv4 address it reaches.
 */
export function blockedReason(address: string, allow?: BlockList): string | null {
  const ip = unmapIPv4(address);
  const type = isIP(ip);
  if (!type) return `${address} is not an IP address`;
  const family = type === 4 ? 'ipv4' : 'ipv6';
  if (allow?.check(ip, family)) return null;
  return blocked.check(ip, family) ? `${address} is a private, loopback, link-local, multicast or reserved address` : null;
}
