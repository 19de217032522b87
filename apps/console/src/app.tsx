import { QueryClientProvider } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { createQueryClient, forgetUser, sessionEvents, UNAUTHENTICATED } from './api/query-client';
import { SessionProvider, useSession } from './auth/session';
import { SignInPage } from './auth/sign-in-page';
import { isAdmin } from './auth/token';
import { OperationsPage } from './operations/operations-page';
import { AnnouncerProvider, useAnnouncer } from './shell/announcer';
import { Link, pageOf, usePathname } from './shell/router';
import { TasksPage } from './tasks/tasks-page';

const SESSION_ENDED = 'Your session has ended: the token expired or was refused. Sign in again.';

/** The page: one query cache, the signed-in user, the live regions, then the current view. */
export function App() {
  const [queryClient] = useState(createQueryClient);
  const onSignOut = useCallback(() => forgetUser(queryClient), [queryClient]);
  return (
    <QueryClientProvider client={queryClient}>
      <AnnouncerProvider>
        <SessionProvider onSignOut={onSignOut}>
          <Shell />
        </SessionProvider>
      </AnnouncerProvider>
    </QueryClientProvider>
  );
}

function Shell() {
  const { session, signOut } = useSession();
  const pathname = usePathname();
  const page = pageOf(pathname);
  useEffect(() => {
    const onUnauthenticated = () => signOut(SESSION_ENDED);
    sessionEvents.addEventListener(UNAUTHENTICATED, onUnauthenticated);
    return () => sessionEvents.removeEventListener(UNAUTHENTICATED, onUnauthenticated);
  }, [signOut]);
  // `/` and unknown paths show the tasks: say so in the address bar
  useEffect(() => {
    if (pathname !== '/tasks' && page === 'tasks') window.history.replaceState(null, '', '/tasks');
  }, [pathname, page]);
  // a new view takes focus to its main region, so keyboard and screen-reader users start there
  const firstView = useRef(true);
  const signedIn = session !== null;
  const { clear } = useAnnouncer();
  useEffect(() => {
    if (firstView.current) {
      firstView.current = false;
      return;
    }
    clear();
    document.getElementById('main')?.focus();
  }, [page, signedIn, clear]);

  if (session === null) return <SignInPage />;
  const admin = isAdmin(session.claims);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">CQRS console</span>
        <nav aria-label="Main">
          <ul>
            <li>
              <Link href="/tasks" aria-current={page === 'tasks' ? 'page' : undefined}>
                Tasks
              </Link>
            </li>
            <li>
              <Link href="/operations" aria-current={page === 'operations' ? 'page' : undefined}>
                Operations
              </Link>
            </li>
          </ul>
        </nav>
        <div className="user">
          <span className="user-name">
            <span className="visually-hidden">Signed in as </span>
            {session.claims.sub}
            {admin ? <span className="badge badge-admin">admin</span> : null}
          </span>
          <button type="button" className="button button-quiet" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      {page === 'operations' ? <OperationsPage /> : <TasksPage />}
    </>
  );
}
