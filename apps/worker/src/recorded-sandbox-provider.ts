import type { Sandbox, SandboxProvider, SandboxSpec } from '@tinyb/core';

export interface RecordedSandboxProviderDeps {
  provider: SandboxProvider;
  /** Records where the attempt's sandbox is (the attempt registry), so it can be destroyed if this worker dies. */
  record(spec: SandboxSpec, sandbox: Sandbox): Promise<void>;
}

/**
 * A SandboxProvider whose every sandbox is on record before the pipeline uses it. A sandbox that cannot be
 * recorded is destroyed at once: one that nobody could find after a crash must not exist.
 */
export class RecordedSandboxProvider implements SandboxProvider {
  readonly name: string;

  constructor(private readonly deps: RecordedSandboxProviderDeps) {
    this.name = deps.provider.name;
  }

  async create(spec: SandboxSpec, signal: AbortSignal): Promise<Sandbox> {
    const sandbox = await this.deps.provider.create(spec, signal);
    try {
      await this.deps.record(spec, sandbox);
    } catch (err) {
      await sandbox.destroy().catch(() => undefined);
      throw err;
    }
    return sandbox;
  }
}
