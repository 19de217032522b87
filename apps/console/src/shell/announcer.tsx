import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';

interface Announcer {
  /** Says that something worked (polite; clears itself). */
  success: (message: string) => void;
  /** Says that something failed (assertive; stays until dismissed, replaced or the view changes). */
  failure: (message: string) => void;
  /** Clears both regions (a new view). */
  clear: () => void;
}

const AnnouncerContext = createContext<Announcer | null>(null);

export function useAnnouncer(): Announcer {
  const announcer = useContext(AnnouncerContext);
  if (announcer === null) throw new Error('useAnnouncer outside <AnnouncerProvider>');
  return announcer;
}

/**
 * The live regions where the page reports outcomes: both exist from the start (a live region
 * added together with its text is not read out), and only their text changes.
 */
export function AnnouncerProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState('');
  const [alert, setAlert] = useState('');
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const success = useCallback((message: string) => {
    setAlert('');
    setStatus(message);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setStatus(''), 8000);
  }, []);
  const failure = useCallback((message: string) => {
    setStatus('');
    setAlert(message);
  }, []);
  const clear = useCallback(() => {
    setStatus('');
    setAlert('');
  }, []);
  const value = useMemo(() => ({ success, failure, clear }), [success, failure, clear]);
  return (
    <AnnouncerContext.Provider value={value}>
      {children}
      <div className="toasts">
        <div role="status" aria-live="polite" className={status ? 'toast toast-success' : 'toast-empty'}>
          {status}
        </div>
        <div role="alert" aria-live="assertive" className={alert ? 'toast toast-error' : 'toast-empty'}>
          {alert ? (
            <>
              <span>{alert}</span>
              <button type="button" className="button button-quiet" onClick={() => setAlert('')}>
                Dismiss
              </button>
            </>
          ) : null}
        </div>
      </div>
    </AnnouncerContext.Provider>
  );
}
