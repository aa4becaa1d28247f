// One customer: its place in the hierarchy, usage per meter over time, spend against budget, credits, invoices,
// and "why did this event cost that" (a receipt by transaction id); for a reseller, its brand and margins.
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useParams } from 'react-router';
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { DataTable, numberColumn, type Columns } from '../DataTable.tsx';
import { ReceiptPanel } from '../Receipt.tsx';
import { ResellerPanel } from '../Reseller.tsx';
import { SubscriptionPanel } from '../Subscription.tsx';
import { useCan } from '../layout.tsx';
import { UsageChart, type UsageSeries } from '../UsageChart.tsx';
import { CopyButton, ErrorBanner, InvoiceMoney, Loading, Money, TextField, formatInstant } from '../ui.tsx';

export default function CustomerPage() {
  const id = useParams().id!;
  const overview = useApiQuery('insights.customer', { id }, () => api.insights.customer.query({ id }));
  const can = useCan();
  if (overview.isPending) return <Loading />;
  if (overview.error) return <ErrorBanner error={overview.error} />;
  const { customer: c, summary, ancestors, children } = overview.data;
  return (
    <>
      <h1>
        {c.name ?? c.external_id} <span className="muted">({c.external_id})</span>
      </h1>
      <dl className="facts card">
        <dt>Currency</dt>
        <dd data-testid="customer-currency">
          {c.currency}
          {summary.rating_currency !== c.currency
            ? ` (rated in ${summary.rating_currency}, converted on invoices)`
            : ''}
        </dd>
        <dt>Price book</dt>
        <dd>
          {c.price_book ? (
            <Link to={`/dashboard/price-books/${encodeURIComponent(c.price_book.code)}`}>{c.price_book.code}</Link>
          ) : (
            '—'
          )}
        </dd>
        <dt>Resold through</dt>
        <dd data-testid="ancestors">
          {ancestors.length === 0
            ? 'none (top level)'
            : [...ancestors].reverse().map((a, index) => (
                <span key={a.external_id}>
                  {index > 0 ? ' › ' : ''}
                  <Link to={`/dashboard/customers/${encodeURIComponent(a.external_id)}`}>
                    {a.name ?? a.external_id}
                  </Link>
                </span>
              ))}
        </dd>
        <dt>End users</dt>
        <dd data-testid="children">
          {children.data.length === 0
            ? 'none'
            : children.data.map((child, index) => (
                <span key={child.external_id}>
                  {index > 0 ? ', ' : ''}
                  <Link to={`/dashboard/customers/${encodeURIComponent(child.external_id)}`}>{child.external_id}</Link>
                </span>
              ))}
          {children.next_cursor ? ' …' : ''}
        </dd>
        <dt>Reseller</dt>
        <dd>{c.is_reseller ? 'yes: bills its own end users' : 'no'}</dd>
        <dt>Created</dt>
        <dd>{formatInstant(c.created_at)}</dd>
      </dl>
      <SubscriptionPanel id={id} />
      {c.is_reseller ? <ResellerPanel id={id} /> : null}
      <Usage id={id} currency={summary.rating_currency} resells={c.is_reseller} />
      <div className="grid2">
        <Budget id={id} />
        <Credits id={id} />
      </div>
      <CustomerInvoices id={id} />
      <WhyThisCost />
      {can.bill ? <PortalLink id={id} /> : null}
    </>
  );
}

const ranges = { hour: [1, 2, 7], day: [30, 90] } as const;

/** Usage per meter and group over the last days up to the server's now, hourly or daily, from the aggregates. */
function UsageOverTime({ id, until }: { id: string; until: string }) {
  const [granularity, setGranularity] = useState<'hour' | 'day'>('day');
  const [days, setDays] = useState<number>(30);
  // The range ends at the next whole hour after the server's now, so the current hour is in it.
  const end = new Date(Math.ceil((Date.parse(until) + 1) / 3_600_000) * 3_600_000);
  const input = {
    customer_id: id,
    granularity,
    from: new Date(end.getTime() - days * 86_400_000).toISOString(),
    until: end.toISOString(),
  };
  const series = useApiQuery('insights.usageSeries', input, () => api.insights.usageSeries.query(input), {
    placeholderData: (previous) => previous,
  });
  const meters = [...new Set((series.data?.series ?? []).map((s) => s.meter))];
  return (
    <>
      <div className="toolbar">
        <div className="field">
          <label htmlFor="granularity">Granularity</label>
          <select
            id="granularity"
            value={granularity}
            onChange={(event) => {
              const next = event.target.value as 'hour' | 'day';
              setGranularity(next);
              setDays(ranges[next][ranges[next].length - 1]);
            }}
          >
            <option value="hour">hourly</option>
            <option value="day">daily</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="range-days">Range</label>
          <select id="range-days" value={days} onChange={(event) => setDays(Number(event.target.value))}>
            {ranges[granularity].map((d) => (
              <option key={d} value={d}>
                last {d} days
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBanner error={series.error} />
      {series.data && meters.length === 0 ? <p className="muted">No metered usage in this range.</p> : null}
      <div data-testid="usage-series" data-from={series.data?.from} data-until={series.data?.until}>
        {meters.map((meter) => {
          const groups = series.data!.series.filter((s) => s.meter === meter);
          const lines: UsageSeries[] = groups.map((group) => ({
            label:
              Object.values(group.group)
                .filter((v) => v !== null)
                .join(' / ') || meter,
            points: group.points.filter((p) => p.value !== null).map((p) => [p.at, p.value!] as [string, string]),
          }));
          return (
            <div key={meter} data-meter={meter} data-granularity={series.data!.granularity}>
              <UsageChart
                title={`${groups[0].name} (${meter}), ${series.data!.granularity === 'hour' ? 'hourly' : 'daily'}`}
                series={lines}
                unit={groups[0].aggregation}
              />
            </div>
          );
        })}
      </div>
    </>
  );
}

function Usage({ id, currency, resells }: { id: string; currency: string; resells: boolean }) {
  const usage = useApiQuery('events.usage', { id }, () => api.events.usage.query({ id }));
  if (usage.isPending) return <Loading what="Loading usage" />;
  if (usage.error) return <ErrorBanner error={usage.error} />;
  const u = usage.data;
  return (
    <section className="card" aria-labelledby="usage-title">
      <h2 id="usage-title">Usage this period</h2>
      <p>
        {formatInstant(u.period.start)} to {formatInstant(u.period.end)} ({u.period.status}):{' '}
        <strong data-testid="period-amount">
          <Money amount={u.amount} currency={currency} />
        </strong>{' '}
        over <span data-testid="event-count">{u.event_count}</span> events.
      </p>
      {resells ? (
        <p className="muted" data-testid="subtree-usage">
          Usage below is its end users&apos; together (every customer under it): the quantities it is charged on. What
          it paid and resold is in Margins.
        </p>
      ) : null}
      <UsageOverTime id={id} until={u.watermark} />
    </section>
  );
}

function Budget({ id }: { id: string }) {
  const budget = useApiQuery('budgets.get', { id }, () => api.budgets.get.query({ id }), { retry: false });
  return (
    <section className="card" aria-labelledby="budget-title">
      <h2 id="budget-title">Spend against budget</h2>
      {budget.isPending ? <Loading /> : null}
      {budget.error ? <p className="muted">No budget set.</p> : null}
      {budget.data ? (
        <>
          <p>
            <span data-testid="budget-spend">
              <Money amount={budget.data.current_period?.spend ?? '0'} currency={budget.data.currency} />
            </span>{' '}
            of{' '}
            <span data-testid="budget-amount">
              <Money amount={budget.data.amount} currency={budget.data.currency} />
            </span>{' '}
            ({budget.data.enforcement})
          </p>
          <BudgetBar spend={budget.data.current_period?.spend ?? '0'} amount={budget.data.amount} />
        </>
      ) : null}
    </section>
  );
}

function BudgetBar({ spend, amount }: { spend: string; amount: string }) {
  // Display only: a bar's width needs no exactness.
  const share = Number(amount) > 0 ? Math.min(100, (Number(spend) / Number(amount)) * 100) : 0;
  return (
    <div
      className="meter-bar"
      role="progressbar"
      aria-label="Budget used"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(share)}
    >
      <span style={{ width: `${share}%` }} />
    </div>
  );
}

type Grant = Awaited<ReturnType<typeof api.wallets.get.query>>['grants'][number];

const grantColumns: Columns<Grant> = [
  { header: 'Grant', accessorKey: 'name', cell: ({ row }) => row.original.name ?? row.original.id.slice(0, 8) },
  { header: 'Kind', accessorKey: 'kind' },
  {
    header: 'Amount',
    accessorKey: 'amount',
    ...numberColumn,
    cell: ({ row }) => <Money amount={row.original.amount} />,
  },
  {
    header: 'Balance',
    accessorKey: 'balance',
    ...numberColumn,
    cell: ({ row }) => <Money amount={row.original.balance} />,
  },
  { header: 'Expires', accessorKey: 'expires_at', cell: ({ getValue }) => formatInstant(getValue()) },
];

function Credits({ id }: { id: string }) {
  const wallet = useApiQuery('wallets.get', { id }, () => api.wallets.get.query({ id }));
  return (
    <section className="card" aria-labelledby="credits-title">
      <h2 id="credits-title">Credits and grants</h2>
      {wallet.isPending ? <Loading /> : null}
      <ErrorBanner error={wallet.error} />
      {wallet.data ? (
        <>
          <p>
            Balance{' '}
            <strong data-testid="credit-balance">
              <Money amount={wallet.data.balance} currency={wallet.data.currency} />
            </strong>
            , on depletion: {wallet.data.on_depletion}
          </p>
          <DataTable
            label="Credit grants"
            data={wallet.data.grants}
            columns={grantColumns}
            rowId={(g) => g.id}
            empty="No active grants."
          />
        </>
      ) : null}
    </section>
  );
}

function CustomerInvoices({ id }: { id: string }) {
  const input = { customer_id: id, limit: 20 };
  const invoices = useApiQuery('invoices.list', input, () => api.invoices.list.query(input));
  return (
    <section className="card" aria-labelledby="invoices-title">
      <h2 id="invoices-title">Invoices</h2>
      {invoices.isPending ? <Loading /> : null}
      <ErrorBanner error={invoices.error} />
      {invoices.data ? (
        invoices.data.data.length === 0 ? (
          <p className="muted">No invoices yet: one is drafted when a period closes.</p>
        ) : (
          <ul>
            {invoices.data.data.map((invoice) => (
              <li key={invoice.id}>
                <Link to={`/dashboard/invoices/${invoice.id}`}>{invoice.number ?? 'draft'}</Link>{' '}
                {formatInstant(invoice.period.start)} —{' '}
                <InvoiceMoney amount={invoice.total} currency={invoice.currency} minorUnit={invoice.minor_unit} />{' '}
                <span className={`pill ${invoice.status}`}>{invoice.status}</span>
              </li>
            ))}
          </ul>
        )
      ) : null}
    </section>
  );
}

function WhyThisCost() {
  const form = useForm({ defaultValues: { transaction_id: '' } });
  const [transactionId, setTransactionId] = useState<string>();
  return (
    <section className="card" aria-labelledby="why-title">
      <h2 id="why-title">Why did this event cost that?</h2>
      <form
        className="toolbar"
        onSubmit={form.handleSubmit((values) => setTransactionId(values.transaction_id.trim()))}
      >
        <TextField form={form} name="transaction_id" label="Transaction id" required />
        <button type="submit">Show the receipt</button>
      </form>
      {transactionId ? <ReceiptPanel key={transactionId} transactionId={transactionId} /> : null}
    </section>
  );
}

/** A signed link to this customer's portal (an hour by default), to send to the customer; or a token to embed it. */
function PortalLink({ id }: { id: string }) {
  const create = useApiMutation(() => api.portal.createLink.mutate({ customer_id: id }));
  const embed = useApiMutation(() => api.portal.createEmbedToken.mutate({ customer_id: id }));
  const url = create.data
    ? create.data.url.startsWith('/')
      ? `${location.origin}${create.data.url}`
      : create.data.url
    : undefined;
  return (
    <section className="card" aria-labelledby="portal-title">
      <h2 id="portal-title">Customer portal</h2>
      <p>A link that shows this customer its usage, spend against budget, credits and invoices, and nothing else.</p>
      <div className="toolbar">
        <button type="button" onClick={() => create.mutate(undefined)} disabled={create.isPending}>
          Create a portal link
        </button>
        <button type="button" className="secondary" onClick={() => embed.mutate(undefined)} disabled={embed.isPending}>
          Create an embed token
        </button>
      </div>
      <ErrorBanner error={create.error ?? embed.error} />
      {url ? (
        <p>
          <a href={url} data-testid="portal-link">
            Portal link
          </a>{' '}
          (valid until {formatInstant(create.data!.expires_at)}) <CopyButton text={url} label="Copy link" />
        </p>
      ) : null}
      {embed.data ? (
        <div className="secret">
          <p>
            Embed token, publishable (it reads this customer's portal and nothing else), valid until{' '}
            {formatInstant(embed.data.expires_at)}:
          </p>
          <p>
            <code data-testid="embed-token">{embed.data.token}</code>{' '}
            <CopyButton text={embed.data.token} label="Copy token" />
          </p>
          <p className="muted">
            Embed it as <code>{`<iframe src="${location.origin}/portal#token=…">`}</code>; renew it from your backend
            with POST /v1/customers/{id}/portal_tokens.
          </p>
        </div>
      ) : null}
    </section>
  );
}
