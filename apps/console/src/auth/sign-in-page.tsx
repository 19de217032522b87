import { useQuery } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { describeError } from '../api/errors';
import { fetchDevToken, fetchPageConfig } from '../api/local';
import { useDocumentTitle } from '../shell/router';
import { useSession } from './session';
import { ADMIN_ROLE, normalizeToken, tokenProblem } from './token';

/** Signing in: paste a bearer token, or (development) get one for a user name from the dev issuer. */
export function SignInPage() {
  useDocumentTitle('Sign in');
  const { signIn, notice } = useSession();
  const config = useQuery({ queryKey: ['console', 'config'], queryFn: ({ signal }) => fetchPageConfig(signal) });
  return (
    <main id="main" className="sign-in" tabIndex={-1}>
      <h1>Sign in to the CQRS console</h1>
      {notice ? (
        <p className="notice notice-warning" role="alert">
          {notice}
        </p>
      ) : null}
      {config.isPending ? (
        <p role="status">Loading…</p>
      ) : config.data?.devTokens ? (
        <div className="sign-in-options">
          <DevTokenForm onToken={signIn} />
          <details className="card">
            <summary>Paste a token instead</summary>
            <PasteTokenForm onToken={signIn} />
          </details>
        </div>
      ) : (
        <div className="sign-in-options">
          <div className="card">
            <PasteTokenForm onToken={signIn} />
          </div>
        </div>
      )}
    </main>
  );
}

function DevTokenForm({ onToken }: { onToken: (token: string) => void }) {
  const [user, setUser] = useState('');
  const [admin, setAdmin] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const errorId = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const sub = user.trim();
    if (sub === '') {
      setError('Enter a user name.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onToken(await fetchDevToken(sub, admin ? [ADMIN_ROLE] : []));
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="dev-sign-in-heading">
      <h2 id="dev-sign-in-heading">Development sign-in</h2>
      <p className="hint">Gets a token from the development issuer. Never available in production.</p>
      <form aria-labelledby="dev-sign-in-heading" onSubmit={(e) => void submit(e)} noValidate>
        <div className="field">
          <label htmlFor="dev-user">User name</label>
          <input
            id="dev-user"
            name="user"
            autoComplete="username"
            value={user}
            onChange={(e) => setUser(e.target.value)}
            aria-invalid={error !== null}
            aria-describedby={error ? errorId : undefined}
            required
          />
        </div>
        <div className="field field-check">
          <input id="dev-admin" type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
          <label htmlFor="dev-admin">Admin role</label>
        </div>
        {error ? (
          <p id={errorId} className="field-error" role="alert">
            {error}
          </p>
        ) : null}
        <button className="button button-primary" type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </section>
  );
}

function PasteTokenForm({ onToken }: { onToken: (token: string) => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const errorId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const token = normalizeToken(text);
    const problem = tokenProblem(token, Date.now());
    if (problem !== null) {
      setError(problem);
      return;
    }
    onToken(token);
  };
  return (
    <section aria-labelledby="token-sign-in-heading">
      <h2 id="token-sign-in-heading">Sign in with a token</h2>
      <p className="hint">
        Paste a bearer access token, for example from <code>npm run --silent token -- alice</code>. It is kept in this
        tab only.
      </p>
      <form aria-labelledby="token-sign-in-heading" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="access-token">Access token</label>
          <textarea
            id="access-token"
            name="token"
            rows={4}
            spellCheck={false}
            autoComplete="off"
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-invalid={error !== null}
            aria-describedby={error ? errorId : undefined}
          />
        </div>
        {error ? (
          <p id={errorId} className="field-error" role="alert">
            {error}
          </p>
        ) : null}
        <button className="button button-primary" type="submit">
          Sign in
        </button>
      </form>
    </section>
  );
}
