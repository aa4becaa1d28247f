// The dashboard's frame: who is logged in (auth.me), the navigation, and a way out. No session: to the login page.
import { NavLink, Outlet, useNavigate } from 'react-router';
import { api, isUnauthenticated, queryClient, useApiQuery } from './api.ts';
import { ErrorBanner, Loading } from './ui.tsx';
import { useEffect } from 'react';

const sections = [
  ['start', 'First run'],
  ['customers', 'Customers'],
  ['invoices', 'Invoices'],
  ['plans', 'Plans'],
  ['price-books', 'Price books'],
  ['team', 'Team'],
  ['api-keys', 'API keys'],
  ['webhooks', 'Webhooks'],
  ['brand', 'Portal brand'],
  ['settings', 'Settings'],
  ['audit', 'Audit log'],
] as const;

export function useMe() {
  return useApiQuery('auth.me', undefined, () => api.auth.me.query(), { staleTime: 60_000 });
}

/**
 * What the signed-in role may change, as platform/auth.ts grants it: `bill` (customers, plans, subscriptions,
 * invoices, price books) and `manage` (Stripe, dunning, users, keys). A viewer gets neither and sees no actions;
 * the server refuses them all the same.
 */
export function useCan(): { bill: boolean; manage: boolean } {
  const role = useMe().data?.principal ?? 'viewer';
  return {
    bill: role === 'owner' || role === 'admin' || role === 'billing',
    manage: role === 'owner' || role === 'admin',
  };
}

export default function DashboardLayout() {
  const me = useMe();
  const navigate = useNavigate();
  useEffect(() => {
    if (isUnauthenticated(me.error))
      navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
  }, [me.error, navigate]);
  if (me.isPending) return <Loading />;
  if (me.error)
    return isUnauthenticated(me.error) ? <Loading what="Redirecting to login" /> : <ErrorBanner error={me.error} />;
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
