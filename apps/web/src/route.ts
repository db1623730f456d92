import { useEffect, useState } from 'preact/hooks';

/** The console's pages: `/ui/` (jobs and the submit form) and `/ui/jobs/<id>`. */
export type Route = { page: 'jobs' } | { page: 'job'; jobId: string };

export const UI_BASE = '/ui/';

export function routeOf(pathname: string): Route {
  const match = /^\/ui\/jobs\/([^/]+)\/?$/.exec(pathname);
  if (match) return { page: 'job', jobId: decodeURIComponent(match[1]!) };
  return { page: 'jobs' };
}

export function jobPath(jobId: string): string {
  return `${UI_BASE}jobs/${encodeURIComponent(jobId)}`;
}

export function navigate(path: string): void {
  if (path === window.location.pathname) return;
  window.history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The current route, following pushState navigations and the back button. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(routeOf(window.location.pathname));
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return route;
}
