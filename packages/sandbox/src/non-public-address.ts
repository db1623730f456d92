import { BlockList, isIP } from 'node:net';

/**
 * Addresses a sandbox's egress must never reach even under a listed name: this host (loopback, where the
 * worker's Redis listens), private and shared networks (the cluster, the cloud's metadata service at
 * 169.254.169.254), documentation, benchmarking, multicast and reserved ranges, and the IPv6 forms that embed
 * or stand for them. From the IANA special-purpose registries. IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`)
 * are checked against the IPv4 rules by BlockList itself.
 * NAT64 (64:ff9b::/96) is refused too, although it carries public addresses in IPv6-only networks with DNS64:
 * telling which IPv4 address hides behind it would need the operator's prefix, and refusing errs on the safe side.
 */
const nonPublic = new BlockList();
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
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible forms (::127.0.0.1)
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4 embeds an IPv4 address, private ones included
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}

/** Whether `address` (an IP literal) is anything but a public unicast address. Not an IP at all counts as non-public. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
