// The signed-in user, shared through context. On load the session is
// probed with GET /api/v1/session (which also hands back the CSRF token,
// kept in memory only); a 401 from any later request signs the user out.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { setCsrfToken, setUnauthorizedHandler } from '../api/client';
import * as api from '../api/endpoints';
import type { Session, SessionUser } from '../api/types';

interface SessionState {
  user: SessionUser | null;
  /** Still asking the server whether a session exists. */
  loading: boolean;
  signIn: (name: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const Ctx = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionUser | null>(null);
  const [loading, setLoading] = useState(true);

  const accept = useCallback((s: Session) => {
    setCsrfToken(s.csrf_token);
    setUser(s.user);
  }, []);

  useEffect(() => {
    let live = true;
    api
      .getSession()
      .then((s) => live && accept(s))
      .catch(() => live && setUser(null))
      .finally(() => live && setLoading(false));
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      setUser(null);
    });
    return () => {
      live = false;
      setUnauthorizedHandler(null);
    };
  }, [accept]);

  const signIn = useCallback(
    async (name: string, password: string) => {
      accept(await api.signIn(name, password));
    },
    [accept],
  );

  const signOut = useCallback(async () => {
    try {
      await api.signOut();
    } finally {
      setCsrfToken(null);
      setUser(null);
    }
  }, []);

  const value = useMemo(() => ({ user, loading, signIn, signOut }), [user, loading, signIn, signOut]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The signed-in user (only inside the signed-in shell). */
export function useUser(): SessionUser {
  const { user } = useSession();
  if (!user) throw new Error('useUser without a session');
  return user;
}
