// Admin: users, and the loaded connectors with their grants.
import { useState } from 'react';
import { useUser } from '../app/session';
import { ConnectorsPanel } from './ConnectorsPanel';
import { UsersPanel } from './UsersPanel';

export default function AdminPage() {
  const user = useUser();
  const [tab, setTab] = useState<'users' | 'connectors'>('users');
  if (user.role !== 'admin') return <p>Only admins see this page.</p>;
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Admin</h1>
      <div className="tabs" role="tablist" aria-label="Admin sections">
        <button type="button" role="tab" aria-selected={tab === 'users'} onClick={() => setTab('users')} data-testid="tab-users">
          Users
        </button>
        <button type="button" role="tab" aria-selected={tab === 'connectors'} onClick={() => setTab('connectors')} data-testid="tab-connectors">
          Connectors
        </button>
      </div>
      <div role="tabpanel">{tab === 'users' ? <UsersPanel /> : <ConnectorsPanel />}</div>
    </section>
  );
}
