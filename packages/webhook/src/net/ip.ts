import { BlockList, isIP } from 'node:net';

/** Ranges no image URL or callback may reach unless allowed: private, loopback, link-local (cloud metadata), multicast, reserved. */
const BLOCKED: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'], ['10.0.0.0', 8, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['127.0.0.0', 8, 'ipv4'], ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'], ['192.0.0.0', 24, 'ipv4'], ['192.0.2.0', 24, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'], ['203.0.113.0', 24, 'ipv4'], ['224.0.0.0', 4, 'ipv4'], ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'], ['::1', 128, 'ipv6'], ['64:ff9b::', 96, 'ipv6'], ['64:ff9b:1::', 48, 'ipv6'], ['100::', 64, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'], ['fc00::', 7, 'ipv6'], ['fe80::', 10, 'ipv6'], ['fec0::', 10, 'ipv6'], ['ff00::', 8, 'ipv6'],
];

const blocked = new BlockList();
for (const [net, prefix, type] of BLOCKED) blocked.addSubnet(net, prefix, type);

/** `::ffff:a.b.c.d` and `::ffff:XXXX:XXXX` (IPv4-mapped IPv6) -> the IPv4 address; other addresses unchanged. */
export function unmapIPv4(address: string): string {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) return dotted[1]!;
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return a;
}

/** A list of CIDR ranges (`10.0.0.0/8`, `fd00::/8`, or single addresses). */
export function parseAllowList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.split('/');
    const type = isIP(net ?? '');
    if (!type) throw new RangeError(`not an IP range: ${cidr}`);
    const prefix = bits === undefined ? (type === 4 ? 32 : 128) : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (type === 4 ? 32 : 128)) throw new RangeError(`bad prefix length in ${cidr}`);
    list.addSubnet(net!, prefix, type === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/** Why an address may not be reached, or null when it may. */
export function blockedReason(address: string, allow?: BlockList): string | null {
  const ip = unmapIPv4(address);
  const type = isIP(ip);
  if (!type) return `${address} is not an IP address`;
  const family = type === 4 ? 'ipv4' : 'ipv6';
  if (allow?.check(ip, family)) return null;
  return blocked.check(ip, family) ? `${address} is a private, loopback, link-local, multicast or reserved address` : null;
}
