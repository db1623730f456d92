import { EgressAllowList, parseHostPort } from './egress-allow-list.js';

describe('EgressAllowList', () => {
  it('allows nothing when empty', () => {
    for (const value of [undefined, '', ' , ']) {
      const list = EgressAllowList.parse(value);
      expect(list.isEmpty).toBe(true);
      expect(list.allows('registry.npmjs.org', 443)).toBe(false);
    }
  });

  it('allows a listed name on 443 and 80 only, or on the port its entry names', () => {
    const list = EgressAllowList.parse('registry.npmjs.org, Mirror.Example.COM.:8443');
    expect(list.allows('registry.npmjs.org', 443)).toBe(true);
    expect(list.allows('registry.npmjs.org', 80)).toBe(true);
    expect(list.allows('registry.npmjs.org', 22)).toBe(false);
    expect(list.allows('mirror.example.com', 8443)).toBe(true);
    expect(list.allows('mirror.example.com', 443)).toBe(false);
    expect(list.allows('evil-registry.npmjs.org', 443)).toBe(false);
    expect(list.allows('registry.npmjs.org.evil.com', 443)).toBe(false);
  });

  it('matches a wildcard on subdomains only, never on IP literals', () => {
    const list = EgressAllowList.parse('*.pythonhosted.org');
    expect(list.allows('files.pythonhosted.org', 443)).toBe(true);
    expect(list.allows('a.b.pythonhosted.org', 443)).toBe(true);
    expect(list.allows('pythonhosted.org', 443)).toBe(false);
    expect(list.allows('evilpythonhosted.org', 443)).toBe(false);
    expect(() => EgressAllowList.parse('*.10.0.0.1')).toThrow(/SANDBOX_EGRESS_ALLOW/);
  });

  it('matches IP literals only against themselves, in canonical form', () => {
    const list = EgressAllowList.parse('10.1.2.3, [2001:DB8::0:1]:8443, 2001:db8::2');
    expect(list.allows('10.1.2.3', 443)).toBe(true);
    expect(list.listsAddress('10.1.2.3')).toBe(true);
    expect(list.allows('2001:db8::1', 8443)).toBe(true);
    expect(list.allows('2001:db8::2', 443)).toBe(true);
    expect(list.allows('10.1.2.4', 443)).toBe(false);
    expect(list.listsAddress('10.1.2.4')).toBe(false);
  });

  it('rejects malformed entries with the entry in the message', () => {
    for (const bad of ['https://example.com', 'user@example.com', 'example.com/path', 'example.com:0', 'example.com:70000', '*.']) {
      expect(() => EgressAllowList.parse(bad)).toThrow(expect.objectContaining({ code: 'sandbox_unavailable', message: expect.stringContaining(bad) }));
    }
  });
});

describe('parseHostPort', () => {
  it('canonicalizes every spelling of a host, so none can dodge the list', () => {
    expect(parseHostPort('0x7f.1:443', { portRequired: true })).toEqual({ host: '127.0.0.1', port: 443 });
    expect(parseHostPort('2130706433:443', { portRequired: true })).toEqual({ host: '127.0.0.1', port: 443 });
    expect(parseHostPort('[::FFFF:127.0.0.1]:443', { portRequired: true })).toEqual({ host: '::ffff:7f00:1', port: 443 });
    expect(parseHostPort('BÜCHER.example.:443', { portRequired: true })).toEqual({ host: 'xn--bcher-kva.example', port: 443 });
  });

  it('needs a port for CONNECT and refuses anything but host:port', () => {
    expect(parseHostPort('example.com', { portRequired: true })).toBeUndefined();
    for (const bad of ['', ':443', 'a@example.com:443', 'example.com/x:443', 'example.com:443:443', 'exa mple.com:443']) {
      expect(parseHostPort(bad, { portRequired: true })).toBeUndefined();
    }
  });
});
