import { isNonPublicAddress } from './non-public-address.js';

describe('isNonPublicAddress', () => {
  it('refuses loopback, private, link-local, shared, reserved and multicast addresses', () => {
    for (const address of [
      '127.0.0.1', '127.255.0.9', '0.0.0.0', '10.0.0.1', '172.16.5.5', '172.31.255.255', '192.168.1.1', '169.254.169.254',
      '100.64.0.1', '192.0.2.2', '198.18.0.1', '224.0.0.1', '255.255.255.255',
      '::1', '::', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::127.0.0.1', 'fd00::2', 'fe80::1', 'ff02::1', '2001:db8::1', '2002:7f00:1::1', '64:ff9b::a00:1',
    ]) {
      expect([address, isNonPublicAddress(address)]).toEqual([address, true]);
    }
  });

  it('lets public addresses through', () => {
    for (const address of ['104.16.0.35', '8.8.8.8', '172.32.0.1', '::ffff:8.8.8.8', '2606:4700::6810:2223', '2a00:1450:4001::1']) {
      expect([address, isNonPublicAddress(address)]).toEqual([address, false]);
    }
  });

  it('treats what is not an IP address as non-public', () => {
    expect(isNonPublicAddress('localhost')).toBe(true);
  });
});
