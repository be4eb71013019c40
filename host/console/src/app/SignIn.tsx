import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../api/client';
import { ErrorNotice } from '../ui/Notice';
import { useSession } from './session';

export function SignIn() {
  const { signIn } = useSession();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(name, password);
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'invalid_credentials'
          ? 'Wrong name or password.'
          : errorMessage(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={submit} aria-labelledby="signin-title" data-testid="signin-form">
        <h1 id="signin-title">Sign in to Weft</h1>
        <label>
          Name
          <input
            name="name"
            autoComplete="username"
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            data-testid="signin-name"
            autoFocus
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="signin-password"
          />
        </label>
        <ErrorNotice error={error} />
        <button type="submit" className="primary" disabled={busy} data-testid="signin-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
