/**
 * What of the host's /etc a sandbox sees. Not all of /etc: when the worker runs as root, every root-owned
 * file appears owned by the sandbox user inside the user namespace, so /etc/shadow, ssh host keys or
 * credentials in /etc/npmrc would become readable. These are what dynamic linking, DNS, TLS and git need.
 */
export const defaultEtcEntries: readonly string[] = [
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/nsswitch.conf',
  '/etc/gai.conf',
  '/etc/services',
  '/etc/protocols',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/ca-certificates.conf',
  '/etc/localtime',
  '/etc/timezone',
  '/etc/mime.types',
  '/etc/gitconfig',
  '/etc/os-release',
  '/etc/debian_version',
  '/etc/shells',
  '/etc/inputrc',
  '/etc/terminfo',
];

export interface BwrapArgsInput {
  /** The job's private host directory, bound writable at `workspaceDir`. */
  hostDir: string;
  workspaceDir: string;
  /** Absolute path inside the sandbox. */
  cwd: string;
  /** Host paths bound read-only at the same path. */
  toolPaths: readonly string[];
  etcEntries: readonly string[];
  /** Host Unix sockets bound at the given sandbox paths: the sandbox's only ways out (see `SandboxNetwork`). */
  socketBinds: ReadonlyArray<{ hostPath: string; sandboxPath: string }>;
  uid: number;
  gid: number;
  hostname: string;
}

/**
 * The bwrap command line for one command (everything before the command's own argv, up to and including `--`).
 * The environment is not in it: argv is world-readable in /proc/<pid>/cmdline while /proc/<pid>/environ is
 * readable only by the worker's uid, so the command's env (which may hold the agent's API key) is handed to
 * bwrap as bwrap's own environment, which bwrap passes on unchanged.
 * /etc/passwd and /etc/group come from file descriptors 3 and 4 (see `sandboxPasswd`), so that tools calling
 * getpwuid (git, ssh, python) know the sandbox user.
 */
export function bwrapArgs(input: BwrapArgsInput): string[] {
  const args = [
    // Own user, PID, IPC, UTS, cgroup, mount and network namespaces. The network namespace holds only `lo`
    // (bwrap brings it up): the host's loopback, its other addresses and DNS are out of reach.
    '--unshare-all',
    '--unshare-user',
    '--disable-userns', // no nested user namespaces: they are the usual door to kernel bugs
    '--cap-drop', 'ALL',
    '--uid', String(input.uid),
    '--gid', String(input.gid),
    '--hostname', input.hostname,
    '--die-with-parent', // killing bwrap (the process group we own) takes the whole sandbox down
    '--new-session', // no TIOCSTI into the worker's terminal
    '--ro-bind', '/usr', '/usr',
    '--symlink', 'usr/bin', '/bin',
    '--symlink', 'usr/sbin', '/sbin',
    '--symlink', 'usr/lib', '/lib',
    '--symlink', 'usr/lib64', '/lib64',
    // A tmpfs, not a directory in bwrap's root tmpfs, so that it can be made read-only once filled.
    '--tmpfs', '/etc',
  ];
  for (const entry of input.etcEntries) args.push('--ro-bind-try', entry, entry);
  args.push(
    '--perms', '0644', '--ro-bind-data', '3', '/etc/passwd',
    '--perms', '0644', '--ro-bind-data', '4', '/etc/group',
    '--proc', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
    '--bind', input.hostDir, input.workspaceDir,
  );
  // After the tmpfs: a tool under /tmp (or under any other mount point above) would otherwise be hidden.
  for (const toolPath of input.toolPaths) args.push('--ro-bind', toolPath, toolPath);
  // Read-only is enough to connect to a socket. Not `--ro-bind-try`: a missing socket should fail the command
  // loudly, not leave it without its model API.
  for (const socket of input.socketBinds) args.push('--ro-bind', socket.hostPath, socket.sandboxPath);
  // Last, because mount points can no longer be created in them afterwards: without these, a command could
  // write a fake /etc/resolv.conf or new top-level directories.
  args.push('--remount-ro', '/etc', '--remount-ro', '/');
  args.push('--chdir', input.cwd, '--');
  return args;
}

/** Contents of /etc/passwd and /etc/group inside the sandbox (file descriptors 3 and 4). */
export function sandboxPasswd(input: { uid: number; gid: number; home: string }): [passwd: string, group: string] {
  return [
    `sandbox:x:${input.uid}:${input.gid}:sandbox:${input.home}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    `sandbox:x:${input.gid}:\nnogroup:x:65534:\n`,
  ];
}
