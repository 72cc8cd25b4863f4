import { lazy, Suspense, useEffect, useState, type ReactNode } from 'react';
import { matchRoute, navigate, useLocation } from './router';
import { useSession, logout } from '../auth/api';
import { LoginPage } from '../auth/LoginPage';
import { WorklistPage } from '../worklist/WorklistPage';
import { loadViewerModuleAfterPreview } from './preload';
import { ViewerSkeleton } from '../viewer/ViewerSkeleton';
import { removeBootPreview } from '../viewer/previewImage';
import { afterFirstImage } from './firstImage';
import { ROLE_LABELS } from '../core/auth/roles';
import { ADMIN_PAGE_ACTIONS, can, canAny } from '../core/auth/permissions';
import { formatPersonName } from '../core/imaging/dicomJson';

const ViewerPage = lazy(loadViewerModuleAfterPreview);
const AdminPage = lazy(() => import('../admin/AdminPage'));
const GovernancePage = lazy(() => import('../governance/GovernancePage'));
const AlertCenter = lazy(() => import('../alerts/AlertCenter'));

/** The header; `middle` (the critical-alert centre) takes the free space between the nav and the user. */
function Header({ middle }: { middle?: ReactNode }) {
  const { user } = useSession();
  const { pathname } = useLocation();
  return (
    <header className="app-header">
      <a
        className="brand"
        href="/"
        onClick={(e) => {
          e.preventDefault();
          navigate('/');
        }}
      >
        Reading Station
      </a>
      <nav>
        {(!user || can(user.role, 'worklist.read')) && (
          <a
            href="/"
            className={pathname === '/' ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate('/');
            }}
          >
            Worklist
          </a>
        )}
        {user && can(user.role, 'governance.read') && (
          <a
            href="/governance"
            className={pathname === '/governance' ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate('/governance');
            }}
          >
            Governance
          </a>
        )}
        {user && canAny(user.role, ADMIN_PAGE_ACTIONS) && (
          <a
            href="/admin"
            className={pathname === '/admin' ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate('/admin');
            }}
          >
            Admin
          </a>
        )}
      </nav>
      <div className="spacer header-middle">{middle}</div>
      {user && (
        <div className="user" data-testid="current-user">
          <span>{formatPersonName(user.displayName)}</span>
          <span className="role">{ROLE_LABELS[user.role] ?? user.role}</span>
          <button
            type="button"
            className="link"
            onClick={() => {
              void logout().then(() => navigate('/login'));
            }}
          >
            Log out
          </button>
        </div>
      )}
    </header>
  );
}

function Centered({ children }: { children: ReactNode }) {
  return <div className="centered">{children}</div>;
}

/** Replaces the current history entry (a landing page that is elsewhere for this role). */
function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

export function App() {
  const session = useSession();
  const { pathname, search } = useLocation();
  const route = matchRoute(pathname);
  // On a viewer deep link the alert panel (its chunk, /api/alerts and the event stream) waits for the
  // first image, at most 3 s: it is not needed to see the image and competed with it for the cores.
  const [alertsOn, setAlertsOn] = useState(() => route.name !== 'viewer');
  useEffect(() => {
    if (alertsOn) return;
    const w = afterFirstImage(3000);
    void w.promise.then(() => setAlertsOn(true));
    return w.cancel;
  }, [alertsOn]);

  // The boot script's first-image canvas belongs to the viewer only (it is replaced there by React's).
  useEffect(() => {
    if (route.name !== 'viewer' || session.status === 'signed-out') removeBootPreview();
  }, [route.name, session.status]);

  useEffect(() => {
    if (session.status === 'signed-out' && route.name !== 'login') {
      navigate(`/login?next=${encodeURIComponent(pathname + window.location.search)}`, { replace: true });
    }
  }, [session.status, route.name, pathname]);

  if (route.name === 'login') {
    return (
      <LoginPage
        onDone={() => {
          const next = search.get('next');
          navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
        }}
      />
    );
  }
  if (session.status !== 'signed-in') {
    // A viewer deep link lays out the viewer (and its first-image preview) while the session is
    // checked: the image requests are already on their way, and are refused anyway if it has ended.
    if (route.name === 'viewer' && session.status !== 'signed-out') {
      return (
        <div className="app route-viewer">
          <Header />
          <div className="app-body">
            <ViewerSkeleton studyUID={route.studyUID} />
          </div>
        </div>
      );
    }
    return <Centered>Checking your session…</Centered>;
  }

  let page: ReactNode;
  switch (route.name) {
    case 'worklist':
      // A role without worklist.read (AI governance) is sent to what it may see instead of a page of refusals:
      // the governance role lands on its own page.
      page = can(session.user?.role, 'worklist.read') ? (
        <WorklistPage />
      ) : can(session.user?.role, 'governance.read') ? (
        <Redirect to="/governance" />
      ) : (
        <Centered>
          <p>
            Your role has no worklist.{' '}
            {canAny(session.user?.role, ADMIN_PAGE_ACTIONS) && (
              <a
                href="/admin"
                onClick={(e) => {
                  e.preventDefault();
                  navigate('/admin');
                }}
              >
                Open the administration page
              </a>
            )}
          </p>
        </Centered>
      );
      break;
    case 'viewer':
      page = <ViewerPage key={route.studyUID} studyUID={route.studyUID} />;
      break;
    case 'admin':
      page = <AdminPage />;
      break;
    case 'governance':
      page = can(session.user?.role, 'governance.read') ? (
        <GovernancePage />
      ) : (
        <Centered>
          <p>Your role may not view the governance figures.</p>
        </Centered>
      );
      break;
    default:
      page = (
        <Centered>
          <p>There is no page at {route.pathname}.</p>
        </Centered>
      );
  }
  return (
    <div className={`app route-${route.name}`}>
      <Header
        middle={
          alertsOn && (
            <Suspense fallback={null}>
              <AlertCenter />
            </Suspense>
          )
        }
      />
      <div className="app-body">
        <Suspense fallback={route.name === 'viewer' ? <ViewerSkeleton studyUID={route.studyUID} /> : <Centered>Loading…</Centered>}>{page}</Suspense>
      </div>
    </div>
  );
}
