import { bwrapArgs, sandboxPasswd } from './bwrap-args.js';

describe('bwrapArgs', () => {
  const args = bwrapArgs({
    hostDir: '/tmp/sandboxes/job-1-abc',
    workspaceDir: '/workspace',
    cwd: '/workspace/repo',
    toolPaths: ['/tmp/tools/claude'],
    etcEntries: ['/etc/hosts'],
    socketBinds: [{ hostPath: '/var/run/gateway.sock', sandboxPath: '/run/tinyb/4000.sock' }],
    uid: 1000,
    gid: 1000,
    hostname: 'sandbox',
  });
  const at = (...seq: string[]): number => args.findIndex((_, i) => seq.every((s, j) => args[i + j] === s));

  it('jails the command as an unprivileged user in its own namespaces, network included', () => {
    expect(args).not.toContain('--share-net');
    for (const seq of [['--unshare-all'], ['--uid', '1000'], ['--gid', '1000'], ['--cap-drop', 'ALL'], ['--die-with-parent'], ['--new-session']]) {
      expect(at(...seq)).toBeGreaterThanOrEqual(0);
    }
  });

  it('binds tool paths after the /tmp tmpfs and makes the root read-only last', () => {
    expect(at('--ro-bind', '/tmp/tools/claude', '/tmp/tools/claude')).toBeGreaterThan(at('--tmpfs', '/tmp'));
    expect(at('--bind', '/tmp/sandboxes/job-1-abc', '/workspace')).toBeGreaterThan(at('--tmpfs', '/tmp'));
    expect(at('--remount-ro', '/')).toBeGreaterThan(at('--ro-bind', '/tmp/tools/claude', '/tmp/tools/claude'));
    expect(at('--ro-bind', '/var/run/gateway.sock', '/run/tinyb/4000.sock')).toBeGreaterThan(at('--tmpfs', '/tmp'));
    expect(at('--remount-ro', '/')).toBeGreaterThan(at('--ro-bind', '/var/run/gateway.sock', '/run/tinyb/4000.sock'));
    expect(args.slice(-3)).toEqual(['--chdir', '/workspace/repo', '--']);
  });

  it('never carries the environment on the command line', () => {
    expect(args).not.toContain('--setenv');
    expect(args).not.toContain('--clearenv');
  });

  it('describes the sandbox user for getpwuid', () => {
    const [passwd, group] = sandboxPasswd({ uid: 1000, gid: 1000, home: '/workspace' });
    expect(passwd).toContain('sandbox:x:1000:1000:sandbox:/workspace:/bin/sh\n');
    expect(group).toContain('sandbox:x:1000:\n');
  });
});
