import { startFakeAnthropic } from './fake-anthropic.js';
import { startFakeGitHub } from './fake-github.js';

/** The fakes' one-shot faults, as the soak (bench/src/soak.ts) injects them. */
describe('fault injection in the fakes', () => {
  it('cuts the next Anthropic stream mid-message once, then streams whole replies again', async () => {
    const model = await startFakeAnthropic({ apiKey: 'k' });
    try {
      const call = async () => {
        const res = await fetch(`${model.url}/v1/messages`, {
          method: 'POST',
          headers: { 'x-api-key': 'k', 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'Write' }] }),
        });
        let text = '';
        const decoder = new TextDecoder();
        try {
          for await (const chunk of res.body!) text += decoder.decode(chunk, { stream: true });
          return { status: res.status, text, broken: false };
        } catch {
          return { status: res.status, text, broken: true };
        }
      };
      model.cutNextStreams();
      const cut = await call();
      expect(cut).toMatchObject({ status: 200, broken: true });
      expect(cut.text).toContain('content_block_delta');
      expect(cut.text).not.toContain('message_stop');
      const whole = await call();
      expect(whole).toMatchObject({ status: 200, broken: false });
      expect(whole.text).toContain('message_stop');
      expect(model.requests.map((r) => r.cut ?? false)).toEqual([true, false]);
      // Cuts still pending can be called off.
      model.cutNextStreams(2);
      model.cutNextStreams(0);
      expect(await call()).toMatchObject({ status: 200, broken: false });
    } finally {
      await model.close();
    }
  });

  it('fails the next requests of any method with `*`, then serves them again', async () => {
    const github = await startFakeGitHub({ token: 't' });
    try {
      await github.createRepo('o', 'r', { files: { 'README.md': 'x\n' } });
      github.failNext('*', /^\/repos\/o\/r/, 502, 2);
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${github.apiUrl}/repos/o/r`, { headers: { authorization: 'token t' } })).status);
      expect(statuses).toEqual([502, 502, 200]);
      // Failures no request met yet can be called off.
      github.failNext('*', /^\/repos\/o\/r/, 503, 5);
      github.clearFaults();
      expect((await fetch(`${github.apiUrl}/repos/o/r`, { headers: { authorization: 'token t' } })).status).toBe(200);
    } finally {
      await github.close();
    }
  });
});
