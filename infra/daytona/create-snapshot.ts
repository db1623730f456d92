/**
 * Builds the Daytona snapshot the worker's DaytonaSandboxProvider starts sandboxes from, out of the Dockerfile
 * next to this script. Run from the repository root:
 *
 *   DAYTONA_API_KEY=… [DAYTONA_API_URL=…] [DAYTONA_TARGET=…] [DAYTONA_SNAPSHOT=tiny-backspace-agents] \
 *     pnpm exec tsx --tsconfig infra/daytona/tsconfig.json infra/daytona/create-snapshot.ts
 *
 * The build runs on Daytona's side and its log is streamed here. An existing snapshot of the same name is
 * left alone unless REPLACE=true (then it is deleted first): sandboxes of running jobs keep working either way.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Daytona, DaytonaNotFoundError, Image } from '@daytonaio/sdk';

const here = path.dirname(fileURLToPath(import.meta.url));

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

async function main(): Promise<void> {
  const apiKey = env('DAYTONA_API_KEY');
  if (!apiKey) throw new Error('DAYTONA_API_KEY is required');
  const name = env('DAYTONA_SNAPSHOT') ?? 'tiny-backspace-agents';
  const apiUrl = env('DAYTONA_API_URL');
  const target = env('DAYTONA_TARGET');
  const daytona = new Daytona({ apiKey, ...(apiUrl ? { apiUrl } : {}), ...(target ? { target } : {}) });
  try {
    const existing = await daytona.snapshot.get(name).catch((err: unknown) => {
      if (err instanceof DaytonaNotFoundError) return undefined;
      throw err;
    });
    if (existing) {
      if (env('REPLACE') !== 'true') {
        console.log(`snapshot ${name} already exists (state ${existing.state}); set REPLACE=true to rebuild it`);
        return;
      }
      console.log(`deleting snapshot ${name} to rebuild it`);
      await daytona.snapshot.delete(existing);
    }
    const image = Image.fromDockerfile(path.join(here, 'Dockerfile'));
    const snapshot = await daytona.snapshot.create(
      { name, image, resources: { cpu: 2, memory: 4, disk: 10 } },
      { onLogs: (chunk) => process.stdout.write(`${chunk}\n`), timeout: 0 },
    );
    console.log(`snapshot ${snapshot.name} is ${snapshot.state}`);
  } finally {
    await daytona[Symbol.asyncDispose]();
  }
}

main().catch((err: unknown) => {
  // The SDK's messages carry no credentials; print only the message, not the request it came from.
  console.error(`create-snapshot failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
