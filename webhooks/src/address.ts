// Where a webhook may go: http(s) URLs whose host resolves only to public addresses, unless private delivery is
// allowed (WEBHOOK_ALLOW_PRIVATE=1: tests, on-premises installs). Every resolved address is checked, and the
// sender connects to the address it checked (its own lookup), so DNS cannot answer differently in between.
import dns from 'node:dns';
import net from 'node:net';

const blocked = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is public: not loopback, private, link-local, shared, documentation, multicast or reserved. */
export function isPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return false;
  if (family === 4) return !blocked.check(address, 'ipv4');
  const lower = address.toLowerCase();
  // IPv4 embedded in IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, the deprecated compatible ::a.b.c.d):
  // judged by the IPv4 address it carries.
  const embedded = embeddedIpv4(lower);
  if (embedded) return isPublicAddress(embedded);
  return !blocked.check(lower, 'ipv6');
}

function embeddedIpv4(address: string): string | undefined {
  const bytes = ipv6Bytes(address);
  if (!bytes) return undefined;
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const v4 = () => bytes.slice(12).join('.');
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4();
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return v4();
  if (zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && bytes[15] === 1)) return v4();
  return undefined;
}

function ipv6Bytes(address: string): number[] | undefined {
  let text = address.split('%')[0];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = dotted[1].split('.').map(Number);
    text =
      text.slice(0, -dotted[1].length) +
      ((parts[0] << 8) | parts[1]).toString(16) +
      ':' +
      ((parts[2] << 8) | parts[3]).toString(16);
  }
  const [head, tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return undefined;
  const groups = [...headGroups, ...Array(tail === undefined ? 0 : missing).fill('0'), ...tailGroups].map((g) =>
    parseInt(g, 16),
  );
  if (groups.length !== 8 || groups.some((g) => !Number.isFinite(g) || g < 0 || g > 0xffff)) return undefined;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

export type DestinationCheck = { ok: true; addresses: string[] } | { ok: false; reason: string };

export type Resolver = (hostname: string) => Promise<string[]>;

const systemResolver: Resolver = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Resolves the URL's host and checks every address. A host that does not resolve fails (`unresolvable`); any
 * non-public address fails unless `allowPrivate`.
 */
export async function checkDestination(
  url: string,
  options: { allowPrivate: boolean; resolve?: Resolver },
): Promise<DestinationCheck> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    return { ok: false, reason: 'the scheme must be http or https' };
  if (parsed.username || parsed.password) return { ok: false, reason: 'credentials in the URL are not allowed' };
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host);
    } catch (error) {
      return {
        ok: false,
        reason: `the host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      };
    }
  }
  if (addresses.length === 0) return { ok: false, reason: `the host ${host} does not resolve` };
  if (!options.allowPrivate) {
    const privateAddress = addresses.find((a) => !isPublicAddress(a));
    if (privateAddress)
      return {
        ok: false,
        reason: `the host ${host} resolves to ${privateAddress}, a private, loopback or reserved address`,
      };
  }
  return { ok: true, addresses };
}
