import { useMemo, useState } from 'preact/hooks';
import { apiKeyStore } from './api-key-store.js';
import { ConsoleApi } from './console-api.js';
import { JobPage } from './job-page.js';
import { JobsPage } from './jobs-page.js';
import { KeyDialog } from './key-dialog.js';
import { Link } from './link.js';
import { UI_BASE, useRoute } from './route.js';

/** The console: a header, the page for the current route, and the key dialog whenever the API says 401. */
export function App() {
  const route = useRoute();
  const [apiKey, setApiKey] = useState(() => apiKeyStore.load());
  const [askingForKey, setAskingForKey] = useState(false);
  // A new key makes a new ConsoleApi, and every page reloads what it shows with it.
  const api = useMemo(() => new ConsoleApi({ apiKey, onUnauthorized: () => setAskingForKey(true) }), [apiKey]);

  const saveKey = (key: string) => {
    apiKeyStore.save(key);
    setApiKey(key);
    setAskingForKey(false);
  };
  const forgetKey = () => {
    apiKeyStore.save(undefined);
    setApiKey(undefined);
  };

  return (
    <>
      <header class="topbar">
        <Link href={UI_BASE} class="brand">
          Tiny Backspace
        </Link>
        <nav>
          <Link href={UI_BASE}>Jobs</Link>
          {apiKey && (
            <button type="button" class="link-button" onClick={forgetKey}>
              Forget key
            </button>
          )}
        </nav>
      </header>
      <main>{route.page === 'job' ? <JobPage api={api} jobId={route.jobId} /> : <JobsPage api={api} />}</main>
      {askingForKey && <KeyDialog refused={apiKey !== undefined} onSave={saveKey} />}
    </>
  );
}
