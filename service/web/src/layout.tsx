// The dashboard's frame: who is logged in (auth.me), the navigation, and a way out. No session: to the login page.
import { NavLink, Outlet, useNavigate } from 'react-router';
import { api, isUnauthenticated, queryClient, useApiQuery } from './api.ts';
import { ErrorBanner, Loading } from './ui.tsx';
import { useEffect } from 'react';

const sections = [
  ['start', 'First run'],
  ['customers', 'Customers'],
  ['invoices', 'Invoices'],
  ['price-books', 'Price books'],
  ['team', 'Team'],
  ['api-keys', 'API keys'],
  ['webhooks', 'Webhooks'],
  ['brand', 'Portal brand'],
  ['audit', 'Audit log'],
] as const;

export function useMe() {
  return useApiQuery('auth.me', undefined, () => api.auth.me.query(), { staleTime: 60_000 });
}

export default function DashboardLayout() {
  const me = useMe();
  const navigate = useNavigate();
  useEffect(() => {
    if (isUnauthenticated(me.error)) navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
  }, [me.error, navigate]);
  if (me.isPending) return <Loading />;
  if (me.error) return isUnauthenticated(me.error) ? <Loading what="Redirecting to login" /> : <ErrorBanner error={me.error} />;
  const logOut = async () => {
    await api.auth.logout.mutate();
    queryClient.clear();
    navigate('/login');
  };
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Tariff</span>
        <span className="tenant" data-testid="tenant-name">
          {me.data.tenant.name} <span className="muted">({me.data.tenant.slug})</span>
        </span>
        <span className="who">
          {me.data.user?.email} · <span data-testid="role">{me.data.principal}</span>
        </span>
        <button type="button" className="secondary" onClick={() => void logOut()}>
          Log out
        </button>
      </header>
      <nav aria-label="Dashboard">
        <ul>
          {sections.map(([path, label]) => (
            <li key={path}>
              <NavLink to={`/dashboard/${path}`}>{label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main>
        {me.data.user && !me.data.user.email_verified ? <VerifyReminder /> : null}
        <Outlet />
      </main>
    </div>
  );
}

function VerifyReminder() {
  return (
    <div role="status" className="banner notice">
      Confirm your email: open the link we sent you.{' '}
      <button type="button" className="link" onClick={() => void api.auth.resendVerification.mutate()}>
        Send it again
      </button>
    </div>
  );
}
