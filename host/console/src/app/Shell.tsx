// The signed-in frame: navigation on top, the page below.
import { useEffect, useRef, type ReactNode } from 'react';
import { Link } from './Link';
import { useLocation } from './router';
import { useSession, useUser } from './session';

const SECTIONS = [
  { href: '/automations', label: 'Automations', admin: false },
  { href: '/runs', label: 'Runs', admin: false },
  { href: '/connections', label: 'Connections', admin: false },
  { href: '/admin', label: 'Admin', admin: true },
];

export function Shell({ children }: { children: ReactNode }) {
  const user = useUser();
  const { signOut } = useSession();
  const path = useLocation();
  // After an in-app navigation, focus the new page (screen readers announce
  // it, Tab starts there); not on the first load.
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const pathOnly = path.split('?')[0];
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [pathOnly]);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Weft</span>
        <nav aria-label="Main">
          <ul>
            {SECTIONS.filter((s) => !s.admin || user.role === 'admin').map((s) => {
              const current = path === s.href || path.startsWith(`${s.href}/`) || path.startsWith(`${s.href}?`);
              return (
                <li key={s.href}>
                  <Link href={s.href} aria-current={current ? 'page' : undefined} data-testid={`nav-${s.label.toLowerCase()}`}>
                    {s.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <span className="user" data-testid="current-user">
          {user.name} <small>({user.role})</small>
        </span>
        <button type="button" onClick={() => void signOut()} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <main id="main" className="page" tabIndex={-1} ref={main}>
        {children}
      </main>
    </div>
  );
}
