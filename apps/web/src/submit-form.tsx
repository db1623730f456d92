import type { AgentList } from '@tinyb/client';
import type { CodeJobRequest } from '@tinyb/contracts';
import { useEffect, useState } from 'preact/hooks';
import { describeError, type ConsoleApi } from './console-api.js';
import { jobPath, navigate } from './route.js';

/**
 * A new job: repository, prompt, agent (from GET /api/agents), model, base branch, draft. The API checks
 * everything; its refusal (`code: message`) is shown as it is, and the job's page opens on success.
 */
export function SubmitForm(props: { api: ConsoleApi }) {
  const { api } = props;
  const [agents, setAgents] = useState<AgentList | undefined>();
  const [agent, setAgent] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [submitting, setSubmitting] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    api.agents(controller.signal).then(
      (list) => {
        setAgents(list);
        setAgent((chosen) => chosen || list.default);
      },
      (err: unknown) => !controller.signal.aborted && setError(describeError(err)),
    );
    return () => controller.abort();
  }, [api]);

  const onSubmit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const request: CodeJobRequest = {
      repo_url: text('repoUrl'),
      prompt: text('prompt'),
      draft: form.get('draft') === 'on',
      ...(agent ? { agent } : {}),
      ...(text('model') ? { model: text('model') } : {}),
      ...(text('baseBranch') ? { base_branch: text('baseBranch') } : {}),
    };
    setSubmitting(true);
    setError(undefined);
    try {
      const { id } = await api.submit(request);
      navigate(jobPath(id));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setSubmitting(false);
    }
  };

  const models = agents?.agents.find((a) => a.name === agent)?.defaultModels ?? [];
  return (
    <form class="card submit-form" aria-label="New job" onSubmit={onSubmit}>
      <h2>New job</h2>
      <label>
        Repository
        <input name="repoUrl" type="url" required placeholder="https://github.com/owner/repo" />
      </label>
      <label>
        Prompt
        <textarea name="prompt" required rows={4} placeholder="What should change?" />
      </label>
      <div class="row">
        <label>
          Agent
          <select name="agent" value={agent} onChange={(e) => setAgent(e.currentTarget.value)}>
            {(agents?.agents ?? []).map((a) => (
              <option value={a.name}>
                {a.name}
                {a.workers === 0 ? ' (no worker yet: jobs wait)' : ` (${a.workers} worker${a.workers === 1 ? '' : 's'})`}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <input name="model" list="models" placeholder="agent's default" />
          <datalist id="models">
            {models.map((m) => (
              <option value={m} />
            ))}
          </datalist>
        </label>
        <label>
          Base branch
          <input name="baseBranch" placeholder="repository default" />
        </label>
        <label class="checkbox">
          <input name="draft" type="checkbox" /> Draft PR
        </label>
      </div>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={submitting}>
        {submitting ? 'Submitting…' : 'Submit job'}
      </button>
    </form>
  );
}
