import { BlockList, isIP } from 'node:net';

/**
 * Where a webhook may be delivered (the SSRF guard). Airlock's delivery runs inside the
 * operator's network and account, so an endpoint URL, or the addresses its host resolves to, must
 * never reach the instance metadata service, a loopback server or anything else private. Every
 * address a host resolves to is checked, and the connection then goes to a checked address (the
 * sender pins it), so a DNS answer that changes between the check and the connect cannot slip
 * through. Pure: resolution is the adapter's.
 */

export interface TargetRules {
  /** Plain http:// allowed (the local runtime, for development). On AWS: https only. */
  allowHttp: boolean;
  /** Loopback addresses (127.0.0.0/8, ::1) and `localhost` allowed (the local runtime only). */
  allowLoopback: boolean;
}

/** The AWS rules: https only, public addresses only. */
export const DEPLOYED_TARGET_RULES: TargetRules = { allowHttp: false, allowLoopback: false };
/** The local runtime's: http and loopback too, for a consumer on the developer's machine. */
export const LOCAL_TARGET_RULES: TargetRules = { allowHttp: true, allowLoopback: true };

/** A webhook target that may not be used: the endpoint is misconfigured or points inward. */
export class WebhookTargetError extends Error {
  override readonly name = 'WebhookTargetError';
}

/** What kind of address an IP is, for the guard's message. */
export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'reserved';

const v4 = (entries: Array<[string, number, AddressKind]>) => entries;
/** IPv4 ranges that are not the public internet (IANA special-purpose registry, RFC 6890). */
const IPV4_RANGES = v4([
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT
  ['169.254.0.0', 16, 'link-local'], // includes the metadata service 169.254.169.254
  ['0.0.0.0', 8, 'reserved'],
  ['192.0.0.0', 24, 'reserved'], // includes 192.0.0.192 (Oracle metadata) and NAT64 discovery
  ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'reserved'], // multicast
  ['240.0.0.0', 4, 'reserved'], // reserved and broadcast
]);
/** IPv6 ranges that are not the public internet (those embedding IPv4 are unwrapped first). */
const IPV6_RANGES = v4([
  ['::1', 128, 'loopback'],
  ['::', 128, 'reserved'],
  ['fe80::', 10, 'link-local'],
  ['fc00::', 7, 'private'], // unique local, includes AWS's metadata service fd00:ec2::254
  ['fec0::', 10, 'private'], // deprecated site-local
  ['ff00::', 8, 'reserved'], // multicast
  ['100::', 64, 'reserved'], // discard-only
  ['2001::', 23, 'reserved'], // IETF protocol assignments, includes Teredo 2001::/32
  ['2001:db8::', 32, 'reserved'], // documentation
  ['3fff::', 20, 'reserved'], // documentation
  ['5f00::', 16, 'reserved'], // segment routing
]);

const lists = new Map<AddressKind, BlockList>();
for (const [address, prefix, kind] of IPV4_RANGES) add(kind, address, prefix, 'ipv4');
for (const [address, prefix, kind] of IPV6_RANGES) add(kind, address, prefix, 'ipv6');
function add(kind: AddressKind, address: string, prefix: number, family: 'ipv4' | 'ipv6'): void {
  const list = lists.get(kind) ?? new BlockList();
  list.addSubnet(address, prefix, family);
  lists.set(kind, list);
}

/** The 16 bytes of an IPv6 address (zone id dropped), or undefined when it is not one. */
export function ipv6Bytes(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  if (isIP(text) !== 6) return undefined;
  // A trailing dotted quad is the last two groups.
  text = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_match, a: string, b: string, c: string, d: string) =>
    [
      [a, b],
      [c, d],
    ]
      .map(([high, low]) => ((Number(high) << 8) | Number(low)).toString(16))
      .join(':'),
  );
  const [left = '', right] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const leftGroups = groups(left);
  const rightGroups = right === undefined ? [] : groups(right);
  const missing = 8 - leftGroups.length - rightGroups.length;
  const all =
    right === undefined ? leftGroups : [...leftGroups, ...new Array<number>(missing).fill(0), ...rightGroups];
  if (all.length !== 8 || all.some((group) => !(group >= 0 && group <= 0xffff))) return undefined;
  return all.flatMap((group) => [group >> 8, group & 0xff]);
}

/**
 * The IPv4 address an IPv6 address carries, when it is a form that reaches that IPv4 host:
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d and the
 * local-use 64:ff9b:1::/48) and 6to4 (2002:AABB:CCDD::).
 */
export function embeddedIpv4(address: string): string | undefined {
  const bytes = ipv6Bytes(address);
  if (bytes === undefined) return undefined;
  const zero = (from: number, to: number) => bytes.slice(from, to).every((byte) => byte === 0);
  const quad = (from: number) => bytes.slice(from, from + 4).join('.');
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return quad(12);
  if (zero(0, 12) && bytes[12] !== 0) return quad(12); // not ::1 or ::, which are IPv6's own
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b) {
    if (zero(4, 12) || (bytes[4] === 0x00 && bytes[5] === 0x01)) return quad(12);
  }
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return quad(2);
  return undefined;
}

/** What kind of address `ip` is (IPv4 or IPv6, IPv4 embedded in IPv6 judged as that IPv4). */
export function classifyAddress(ip: string): AddressKind {
  const family = isIP(ip.replace(/%.*$/, ''));
  if (family === 0) throw new WebhookTargetError(`"${ip}" is not an IP address.`);
  if (family === 6) {
    const inner = embeddedIpv4(ip);
    if (inner !== undefined) return classifyAddress(inner);
  }
  const text = ip.replace(/%.*$/, '');
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const kind of ['loopback', 'link-local', 'private', 'reserved'] as const) {
    if (lists.get(kind)?.check(text, type)) return kind;
  }
  return 'public';
}

/** Refuses an address the rules do not allow, saying what it is. */
export function assertAddressAllowed(ip: string, rules: TargetRules): void {
  const kind = classifyAddress(ip);
  if (kind === 'public' || (kind === 'loopback' && rules.allowLoopback)) return;
  throw new WebhookTargetError(`refused: ${ip} is a ${kind} address`);
}

/** A URL an endpoint may use: its scheme, no credentials, and a host that is not an inward literal. */
export function checkWebhookUrl(url: string, rules: TargetRules): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookTargetError(`"${url}" is not a URL.`);
  }
  if (parsed.protocol !== 'https:' && !(rules.allowHttp && parsed.protocol === 'http:')) {
    throw new WebhookTargetError(`refused: ${parsed.protocol}// (webhooks are delivered over https only)`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new WebhookTargetError('refused: credentials in the URL (use the signing secret)');
  }
  const host = hostOf(parsed);
  if (isIP(host) !== 0) assertAddressAllowed(host, rules);
  else if (!rules.allowLoopback && /(^|\.)localhost\.?$/i.test(host)) {
    throw new WebhookTargetError(`refused: ${host} is a loopback name`);
  }
  return parsed;
}

/** The URL's host without IPv6 brackets. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');
