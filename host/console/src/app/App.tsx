// Routes. Pages are lazy so the canvas (React Flow, dagre) loads only when
// an editor or a run view opens; the list pages stay light.
import { lazy, Suspense, useEffect } from 'react';
import { AutomationsPage } from '../automations/AutomationsPage';
import { ErrorBoundary } from '../ui/ErrorBoundary';
import { navigate, match, useLocation } from './router';
import { SessionProvider, useSession } from './session';
import { Shell } from './Shell';
import { SignIn } from './SignIn';

const EditorPage = lazy(() => import('../editor/EditorPage'));
const RunsPage = lazy(() => import('../runs/RunsPage'));
const RunPage = lazy(() => import('../runs/RunPage'));
const ConnectionsPage = lazy(() => import('../connections/ConnectionsPage'));
const AdminPage = lazy(() => import('../admin/AdminPage'));

function Routes() {
  const path = useLocation();
  let m: Record<string, string> | null;
  if (match('/', path)) return <Redirect to="/automations" />;
  if (match('/automations', path)) return <AutomationsPage />;
  if ((m = match('/automations/:id/edit', path))) return <EditorPage key={m.id} automationId={m.id} />;
  if ((m = match('/automations/:id/runs', path))) return <RunsPage key={m.id} automationId={m.id} />;
  if (match('/runs', path)) return <RunsPage />;
  if ((m = match('/runs/:id', path))) return <RunPage key={m.id} runId={m.id} />;
  if (match('/connections', path)) return <ConnectionsPage />;
  if (match('/admin', path)) return <AdminPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>No page at {path}.</p>
    </section>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, true), [to]);
  return null;
}

const TITLES: [string, string][] = [
  ['/automations/:id/edit', 'Editor'],
  ['/automations/:id/runs', 'Runs'],
  ['/automations', 'Automations'],
  ['/runs/:id', 'Run'],
  ['/runs', 'Runs'],
  ['/connections', 'Connections'],
  ['/admin', 'Admin'],
];

function Gate() {
  const { user, loading } = useSession();
  const path = useLocation();
  useEffect(() => {
    const hit = TITLES.find(([pattern]) => match(pattern, path));
    const params = hit ? match(hit[0], path) : null;
    const page = user ? (hit ? `${hit[1]}${params?.id ? ` ${params.id}` : ''}` : 'Weft') : 'Sign in';
    document.title = `${page} · Weft`;
  }, [path, user]);
  if (loading) return <p className="loading" role="status">Loading…</p>;
  if (!user) return <SignIn />;
  return (
    <Shell>
      <ErrorBoundary resetKey={path}>
        <Suspense fallback={<p className="loading" role="status">Loading…</p>}>
          <Routes />
        </Suspense>
      </ErrorBoundary>
    </Shell>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Gate />
    </SessionProvider>
  );
}
