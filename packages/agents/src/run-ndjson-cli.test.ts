import { silentLogger, type ExecOptions, type ExecResult, type Sandbox } from '@tinyb/core';
import type { NewJobEvent } from '@tinyb/contracts';
import { z } from 'zod';
import { runNdjsonCli } from './run-ndjson-cli.js';

/** A sandbox whose one command prints the given stdout chunks, one per event-loop turn. */
function replaySandbox(chunks: string[], opts: { streams?: boolean } = {}): Sandbox {
  return {
    id: 'replay',
    workspaceDir: '/w',
    async exec(_argv: string[], o?: ExecOptions): Promise<ExecResult> {
      for (const data of chunks) {
        if (opts.streams !== false) o?.onOutput?.({ stream: 'stdout', data });
        await new Promise((r) => setImmediate(r));
      }
      return { exitCode: 0, stdout: chunks.join(''), stderr: '', timedOut: false };
    },
    readFile: () => Promise.reject(new Error('unused')),
    writeFile: () => Promise.reject(new Error('unused')),
    destroy: () => Promise.resolve(),
  };
}

const Line = z.object({ n: z.number() });
const toEvents = (l: z.infer<typeof Line>): NewJobEvent[] => [{ type: 'agent.message', text: `m${l.n}` }];

describe('runNdjsonCli', () => {
  it('emits events in order while the command runs, one emit at a time, skipping bad lines', async () => {
    const emitted: string[] = [];
    let inFlight = 0;
    const { lines } = await runNdjsonCli({
      sandbox: replaySandbox(['{"n":1}\n{"n"', ':2}\nnot json\n{"x":1}\n', '{"n":3}']),
      argv: ['x'],
      exec: {},
      lineSchema: Line,
      toEvents,
      emit: async (e) => {
        inFlight++;
        expect(inFlight).toBe(1);
        // Slow, variable emits must not reorder events.
        await new Promise((r) => setTimeout(r, e.type === 'agent.message' && e.text === 'm1' ? 20 : 1));
        if (e.type === 'agent.message') emitted.push(e.text);
        inFlight--;
      },
      logger: silentLogger,
    });
    expect(emitted).toEqual(['m1', 'm2', 'm3']);
    expect(lines).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('still parses captured stdout from a provider that does not stream', async () => {
    const emitted: NewJobEvent[] = [];
    await runNdjsonCli({
      sandbox: replaySandbox(['{"n":1}\n', '{"n":2}\n'], { streams: false }),
      argv: ['x'],
      exec: {},
      lineSchema: Line,
      toEvents,
      emit: async (e) => void emitted.push(e),
      logger: silentLogger,
    });
    expect(emitted).toHaveLength(2);
  });

  it('rethrows a failed emit after the command ends, without emitting further', async () => {
    const emitted: NewJobEvent[] = [];
    await expect(
      runNdjsonCli({
        sandbox: replaySandbox(['{"n":1}\n{"n":2}\n']),
        argv: ['x'],
        exec: {},
        lineSchema: Line,
        toEvents,
        emit: async (e) => {
          emitted.push(e);
          throw new Error('redis down');
        },
        logger: silentLogger,
      }),
    ).rejects.toThrow('redis down');
    expect(emitted).toHaveLength(1);
  });
});
