// The customer portal: what one customer of a tenant sees by the signed, expiring link the tenant sent it (or an
// embed token): this period's usage and spend against budget, credits, invoices, under the tenant's or its
// reseller's brand. The token travels in the URL's fragment (never sent to a server log) and then only as a
// Bearer header; no cookie is sent, so a dashboard session in the same browser widens nothing.
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { useMemo, useState } from 'react';
import type { AppRouter } from '../../../src/app.ts';
import { useApiMutation, useApiQuery } from '../api.ts';
import { UsageChart, type UsageSeries } from '../UsageChart.tsx';
import { ErrorBanner, InvoiceMoney, Loading, Money, formatInstant } from '../ui.tsx';

function tokenFromLocation(): string | undefined {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  return fragment.get('token') ?? new URLSearchParams(location.search).get('token') ?? undefined;
}

function portalClient(token: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: '/trpc',
        headers: () => ({ authorization: `Bearer ${token}` }),
        fetch: (url, options) => fetch(url, { ...(options as RequestInit), credentials: 'omit' }),
      }),
    ],
  });
}

type Portal = ReturnType<typeof portalClient>;

export default function PortalPage() {
  const token = useMemo(tokenFromLocation, []);
  // Where Stripe's hosted page sends the customer back (payments' setup link): the outcome, then back to the link.
  if (!token && location.pathname === '/portal/payment-method') {
    const saved = new URLSearchParams(location.search).get('status') === 'saved';
    return (
      <main className="narrow">
        <h1>Payment method</h1>
        <p role="status">
          {saved ? 'Your card is saved: your next invoices are charged to it.' : 'Nothing was changed.'}
        </p>
        <p>Open your portal again by its link to see it.</p>
      </main>
    );
  }
  if (!token) {
    return (
      <main className="narrow">
        <h1>Customer portal</h1>
        <p>Open the portal by the link your provider sent you.</p>
      </main>
    );
  }
  return <PortalFor portal={portalClient(token)} />;
}

function PortalFor({ portal }: { portal: Portal }) {
  const summary = useApiQuery('portal.summary', undefined, () => portal.portal.summary.query());
  if (summary.isPending) return <Loading />;
  if (summary.error)
    return (
      <main className="narrow">
        <h1>Customer portal</h1>
        <ErrorBanner error={summary.error} />
        <p>This link may have expired: ask your provider for a new one.</p>
      </main>
    );
  const s = summary.data;
  const accent = s.brand.accent_color ?? undefined;
  return (
    <div className="portal" style={accent ? ({ '--brand': accent } as React.CSSProperties) : undefined}>
      <header className="topbar">
        {s.brand.logo_url ? <img src={s.brand.logo_url} alt={s.brand.name} height={28} /> : null}
        <span className="brand" data-testid="portal-brand">
          {s.brand.name}
        </span>
        <span className="who">
          {s.customer.name ?? s.customer.external_id} · link valid until {formatInstant(s.access.expires_at)}
        </span>
      </header>
      <main>
        <h1>Your usage and billing</h1>
        <div className="grid2">
          <section className="card" aria-labelledby="spend-title">
            <h2 id="spend-title">This period</h2>
            <p className="muted">
              {s.period
                ? `${formatInstant(s.period.start)} to ${formatInstant(s.period.end)}`
                : 'No usage yet this period.'}
            </p>
            <p>
              Spend{' '}
              <strong data-testid="portal-spend">
                <Money amount={s.spend} currency={s.customer.rating_currency} />
              </strong>
              {s.budget ? (
                <>
                  {' '}
                  of a{' '}
                  <span data-testid="portal-budget">
                    <Money amount={s.budget.amount} currency={s.customer.rating_currency} />
                  </span>{' '}
                  budget ({s.budget.used_percent}%)
                </>
              ) : null}
            </p>
            {s.budget ? (
              <div
                className="meter-bar"
                role="progressbar"
                aria-label="Budget used"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.min(100, Math.round(Number(s.budget.used_percent)))}
              >
                <span style={{ width: `${Math.min(100, Number(s.budget.used_percent))}%` }} />
              </div>
            ) : null}
          </section>
          <Credits portal={portal} />
        </div>
        <Usage portal={portal} currency={s.customer.rating_currency} />
        <Invoices portal={portal} />
        <PaymentMethod portal={portal} />
      </main>
    </div>
  );
}

function Credits({ portal }: { portal: Portal }) {
  const wallet = useApiQuery('portal.credits', undefined, () => portal.portal.credits.query());
  return (
    <section className="card" aria-labelledby="portal-credits-title">
      <h2 id="portal-credits-title">Balance and credits</h2>
      {wallet.isPending ? <Loading /> : null}
      <ErrorBanner error={wallet.error} />
      {wallet.data ? (
        <>
          <p>
            Credit balance{' '}
            <strong data-testid="portal-credit-balance">
              <Money amount={wallet.data.balance} currency={wallet.data.currency} />
            </strong>
          </p>
          <ul>
            {wallet.data.grants.map((grant) => (
              <li key={grant.id}>
                {grant.name ?? grant.kind}: <Money amount={grant.balance} currency={grant.currency} /> left of{' '}
                <Money amount={grant.amount} currency={grant.currency} />
                {grant.expires_at ? `, expires ${formatInstant(grant.expires_at)}` : ''}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

function Usage({ portal, currency }: { portal: Portal; currency: string }) {
  const usage = useApiQuery('portal.usage', undefined, () => portal.portal.usage.query());
  const until = usage.data
    ? new Date(Math.ceil((Date.parse(usage.data.watermark) + 1) / 3_600_000) * 3_600_000)
    : undefined;
  const input = until
    ? {
        granularity: 'day' as const,
        from: new Date(until.getTime() - 30 * 86_400_000).toISOString(),
        until: until.toISOString(),
      }
    : undefined;
  const series = useApiQuery('portal.usageSeries', input, () => portal.portal.usageSeries.query(input!), {
    enabled: input !== undefined,
  });
  const meters = [...new Set((series.data?.series ?? []).map((s) => s.meter))];
  return (
    <section className="card" aria-labelledby="portal-usage-title">
      <h2 id="portal-usage-title">Usage, last 30 days</h2>
      <ErrorBanner error={usage.error ?? series.error} />
      {usage.data ? (
        <p>
          This period:{' '}
          <span data-testid="portal-period-amount">
            <Money amount={usage.data.amount} currency={currency} />
          </span>{' '}
          over {usage.data.event_count} requests.
        </p>
      ) : null}
      {meters.map((meter) => {
        const groups = series.data!.series.filter((s) => s.meter === meter);
        const lines: UsageSeries[] = groups.map((g) => ({
          label:
            Object.values(g.group)
              .filter((v) => v !== null)
              .join(' / ') || meter,
          points: g.points.filter((p) => p.value !== null).map((p) => [p.at, p.value!] as [string, string]),
        }));
        return (
          <div key={meter} data-meter={meter}>
            <UsageChart title={`${groups[0].name}, daily`} series={lines} unit={groups[0].aggregation} />
          </div>
        );
      })}
    </section>
  );
}

function PaymentMethod({ portal }: { portal: Portal }) {
  const payment = useApiQuery('portal.payment', undefined, () => portal.portal.payment.query());
  const setup = useApiMutation(() => portal.portal.paymentSetupLink.mutate());
  const p = payment.data;
  return (
    <section className="card" aria-labelledby="portal-payment-title">
      <h2 id="portal-payment-title">Payment method</h2>
      <ErrorBanner error={payment.error ?? setup.error} />
      {p ? (
        <>
          <p data-testid="portal-payment-method" data-payment-method={p.default_payment_method ?? ''}>
            {p.default_payment_method ? (
              <>
                {p.card ? (
                  <>
                    Your {p.card.brand} card ending <strong data-testid="portal-card-last4">{p.card.last4}</strong> is
                    saved
                  </>
                ) : (
                  'A payment method is saved'
                )}{' '}
                (since {formatInstant(p.payment_method_set_at)}).
              </>
            ) : (
              'No card saved.'
            )}
            {p.blocked ? ' Usage is blocked until an overdue invoice is paid.' : ''}
          </p>
          {p.stripe_connected ? (
            <p>
              <button type="button" onClick={() => setup.mutate(undefined)} disabled={setup.isPending}>
                {p.default_payment_method ? 'Change the card' : 'Add a card'}
              </button>{' '}
              {setup.data ? (
                <a href={setup.data.url} data-testid="payment-setup-link">
                  Continue to Stripe's secure page
                </a>
              ) : null}
            </p>
          ) : (
            <p className="muted">Invoices are paid by other means.</p>
          )}
        </>
      ) : null}
    </section>
  );
}

function Invoices({ portal }: { portal: Portal }) {
  const invoices = useApiQuery('portal.invoices', { limit: 20 }, () => portal.portal.invoices.query({ limit: 20 }));
  const [open, setOpen] = useState<string>();
  return (
    <section className="card" aria-labelledby="portal-invoices-title">
      <h2 id="portal-invoices-title">Invoices</h2>
      <ErrorBanner error={invoices.error} />
      {invoices.data?.data.length === 0 ? <p className="muted">No invoices yet.</p> : null}
      <ul>
        {invoices.data?.data.map((invoice) => (
          <li key={invoice.id} data-invoice={invoice.id}>
            <button
              type="button"
              className="link"
              onClick={() => setOpen(open === invoice.id ? undefined : invoice.id)}
              aria-expanded={open === invoice.id}
            >
              {invoice.number ?? 'Upcoming invoice'}
            </button>{' '}
            {formatInstant(invoice.period.start)} – {formatInstant(invoice.period.end)}:{' '}
            <InvoiceMoney amount={invoice.total} currency={invoice.currency} minorUnit={invoice.minor_unit} />{' '}
            <span className={`pill ${invoice.status}`}>{invoice.status}</span>
            {open === invoice.id ? (
              <ul>
                {invoice.lines.map((line) => (
                  <li key={line.line} data-line={line.line}>
                    {line.description}:{' '}
                    <InvoiceMoney amount={line.amount} currency={invoice.currency} minorUnit={invoice.minor_unit} />
                  </li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
