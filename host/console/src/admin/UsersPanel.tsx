// Users (admins): create (the API token is shown once), change role, set a
// password, revoke every token and session.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { Role, UserEntry } from '../api/types';
import { useUser } from '../app/session';
import { CopyField } from '../ui/CopyField';
import { ConfirmDialog, Dialog } from '../ui/Dialog';
import { formatTime } from '../ui/format';
import { ErrorNotice, InfoNotice } from '../ui/Notice';

export function UsersPanel() {
  const me = useUser();
  const [users, setUsers] = useState<UserEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [newName, setNewName] = useState('');
  const [newRole, setNewRole] = useState<Role>('user');
  const [token, setToken] = useState<{ name: string; token: string } | null>(null);
  const [pwFor, setPwFor] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [revoking, setRevoking] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setUsers((await api.listUsers()).items);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(null);
    setInfo(null);
    try {
      await what();
      setInfo(done);
      await load();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const create = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const u = await api.createUser(newName, newRole);
      setToken({ name: u.name, token: u.token });
      setNewName('');
    }, `Created ${newName}.`);
  };

  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {info && <InfoNotice>{info}</InfoNotice>}
      <form className="toolbar" onSubmit={create} aria-label="New user">
        <label>
          Name
          <input required pattern="[A-Za-z0-9._\-]{1,64}" value={newName} onChange={(e) => setNewName(e.target.value)} data-testid="new-user-name" />
        </label>
        <label>
          Role
          <select value={newRole} onChange={(e) => setNewRole(e.target.value as Role)} data-testid="new-user-role">
            <option value="user">user</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" className="primary" data-testid="new-user-submit">
          Create user
        </button>
      </form>
      {users === null ? (
        <p className="loading" role="status">Loading…</p>
      ) : (
        <table className="data" data-testid="users-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>Created</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.name} data-testid={`user-row-${u.name}`}>
                <td>{u.name}</td>
                <td>
                  <select
                    aria-label={`Role of ${u.name}`}
                    value={u.role}
                    disabled={u.name === me.name}
                    onChange={(e) => void act(() => api.setUserRole(u.name, e.target.value as Role), `${u.name} is now ${e.target.value}.`)}
                    data-testid={`role-${u.name}`}
                  >
                    <option value="user">user</option>
                    <option value="admin">admin</option>
                  </select>
                </td>
                <td>{formatTime(u.created_at)}</td>
                <td className="actions">
                  <button type="button" className="small" onClick={() => setPwFor(u.name)} aria-label={`Set password of ${u.name}`} data-testid={`set-password-${u.name}`}>
                    Set password
                  </button>{' '}
                  <button type="button" className="small" onClick={() => setRevoking(u.name)} aria-label={`Revoke tokens of ${u.name}`} data-testid={`revoke-${u.name}`}>
                    Revoke tokens
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog
        open={token !== null}
        title={`API token of ${token?.name}`}
        onClose={() => setToken(null)}
        actions={
          <button type="button" className="primary" onClick={() => setToken(null)}>
            Done
          </button>
        }
      >
        <p>Shown once: hand it to the user now. Set a password for them to sign in to the console.</p>
        {token && <CopyField label="API token" value={token.token} testId="new-user-token" />}
      </Dialog>
      <Dialog open={pwFor !== null} title={`Set password of ${pwFor}`} onClose={() => setPwFor(null)}>
        <form
          className="dialog-body"
          onSubmit={(e) => {
            e.preventDefault();
            const name = pwFor!;
            setPwFor(null);
            const pw = password;
            setPassword('');
            void act(() => api.setUserPassword(name, pw), `Password of ${name} set.`);
          }}
        >
          <label>
            New password
            <input type="password" autoComplete="new-password" required minLength={10} value={password} onChange={(e) => setPassword(e.target.value)} data-testid="new-password" />
          </label>
          <div className="dialog-actions">
            <button type="button" onClick={() => setPwFor(null)}>
              Cancel
            </button>
            <button type="submit" className="primary" data-testid="new-password-submit">
              Set password
            </button>
          </div>
        </form>
      </Dialog>
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke tokens"
        message={`Revoke every API token and session of ${revoking}? Their scripts stop working until they get a new token.`}
        confirmLabel="Revoke"
        danger
        onCancel={() => setRevoking(null)}
        onConfirm={() => {
          const name = revoking!;
          setRevoking(null);
          void act(() => api.revokeUserTokens(name), `Revoked the tokens of ${name}.`);
        }}
      />
    </section>
  );
}
