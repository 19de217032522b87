import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { decodeClaims, isExpired, type TokenClaims } from './token';

const STORAGE_KEY = 'cqrs-console.token';

export interface Session {
  token: string;
  claims: TokenClaims;
}

interface SessionControls {
  session: Session | null;
  /** Why the user was signed out (an expired or refused token), for the sign-in page. */
  notice: string | null;
  signIn: (token: string) => void;
  signOut: (notice?: string) => void;
}

/** The token for the API client, read on every request (it lives outside React so the client is made once). */
let currentToken: string | undefined;
export const readToken = () => currentToken;

function restore(): Session | null {
  let token: string | null = null;
  try {
    token = window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage blocked: the user signs in for this page view only
  }
  const claims = token ? decodeClaims(token) : null;
  if (token === null || claims === null || isExpired(claims, Date.now())) return null;
  currentToken = token;
  return { token, claims };
}

const SessionContext = createContext<SessionControls | null>(null);

export function useSession(): SessionControls {
  const controls = useContext(SessionContext);
  if (controls === null) throw new Error('useSession outside <SessionProvider>');
  return controls;
}

/**
 * The signed-in user. The token is kept in sessionStorage: it survives a reload but not the tab,
 * and no cookie ever carries it (the console server never sees it except in passing).
 */
export function SessionProvider({ children, onSignOut }: { children: ReactNode; onSignOut: () => void }) {
  const [session, setSession] = useState<Session | null>(restore);
  const [notice, setNotice] = useState<string | null>(null);
  const signIn = useCallback((token: string) => {
    const claims = decodeClaims(token);
    if (claims === null) return;
    currentToken = token;
    try {
      window.sessionStorage.setItem(STORAGE_KEY, token);
    } catch {
      // storage blocked or full: the session lasts for this page view
    }
    setNotice(null);
    setSession({ token, claims });
  }, []);
  const signOut = useCallback(
    (why?: string) => {
      currentToken = undefined;
      try {
        window.sessionStorage.removeItem(STORAGE_KEY);
      } catch {
        // nothing kept
      }
      onSignOut();
      setNotice(why ?? null);
      setSession(null);
    },
    [onSignOut],
  );
  // a token that expires while the page is open ends the session then, not at the next click
  const expiresAt = session?.claims.exp;
  useEffect(() => {
    if (expiresAt === undefined) return;
    const timer = setTimeout(
      () => signOut('Your session has expired. Sign in again.'),
      Math.min(Math.max(0, expiresAt * 1000 - Date.now()), 2 ** 31 - 1),
    );
    return () => clearTimeout(timer);
  }, [expiresAt, signOut]);
  const value = useMemo(() => ({ session, notice, signIn, signOut }), [session, notice, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
