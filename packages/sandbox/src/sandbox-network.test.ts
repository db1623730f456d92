import { forwarderScript, SandboxNetwork } from './sandbox-network.js';

describe('SandboxNetwork', () => {
  const socatPath = '/usr/bin/socat';

  it('changes nothing without forwards: the command runs as given, with no extra env', () => {
    const network = new SandboxNetwork({});
    expect(network.wrap(['git', 'status'])).toEqual(['git', 'status']);
    expect(network.socketBinds).toEqual([]);
    expect(network.defaultEnv).toEqual({});
  });

  it('binds each socket under /run/tinyb and starts the relays before exec-ing the command', () => {
    const network = new SandboxNetwork({
      socatPath,
      forwards: [{ port: 4000, hostSocketPath: '/var/run/gateway.sock' }],
      httpProxy: { port: 3128, hostSocketPath: '/var/run/egress.sock' },
    });
    expect(network.socketBinds).toEqual([
      { hostPath: '/var/run/gateway.sock', sandboxPath: '/run/tinyb/4000.sock' },
      { hostPath: '/var/run/egress.sock', sandboxPath: '/run/tinyb/3128.sock' },
    ]);
    const argv = network.wrap(['claude', '-p', 'hi; rm -rf /']);
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv.slice(3)).toEqual(['sandbox-network', 'claude', '-p', 'hi; rm -rf /']);
    expect(network.defaultEnv).toMatchObject({ HTTPS_PROXY: 'http://127.0.0.1:3128', http_proxy: 'http://127.0.0.1:3128', NO_PROXY: '127.0.0.1,localhost' });
  });

  it('waits for each port in LISTEN state, in hex as /proc/net/tcp shows it, then execs', () => {
    const script = forwarderScript(socatPath, [4000, 3128]);
    expect(script).toContain('/usr/bin/socat TCP-LISTEN:4000,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:/run/tinyb/4000.sock');
    expect(script).toContain('await_relay "$relay0" 0FA0 4000');
    expect(script).toContain('await_relay "$relay1" 0C38 3128');
    expect(script.trim().endsWith('exec "$@"')).toBe(true);
  });

  it('refuses ports the sandbox user cannot listen on, duplicates, relative sockets and a socat outside /usr', () => {
    const make = (opts: ConstructorParameters<typeof SandboxNetwork>[0]) => () => new SandboxNetwork({ socatPath, ...opts });
    expect(make({ forwards: [{ port: 80, hostSocketPath: '/s' }] })).toThrow(/1024 to 65535/);
    expect(make({ forwards: [{ port: 4000.5, hostSocketPath: '/s' }] })).toThrow(/1024 to 65535/);
    expect(make({ forwards: [{ port: 4000, hostSocketPath: '/s' }], httpProxy: { port: 4000, hostSocketPath: '/t' } })).toThrow(/twice/);
    expect(make({ forwards: [{ port: 4000, hostSocketPath: 'gateway.sock' }] })).toThrow(/absolute/);
    expect(make({ forwards: [{ port: 4000, hostSocketPath: '/s' }], socatPath: '/opt/socat' })).toThrow(/under \/usr/);
  });
});
