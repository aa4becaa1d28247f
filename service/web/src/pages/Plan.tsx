// One plan as the API states it, and (for a billing role) subscribing a customer to it.
import { useForm } from 'react-hook-form';
import { Link, useParams } from 'react-router';
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { useCan } from '../layout.tsx';
import { ErrorBanner, Loading, Money, Notice, TextField, formatInstant, useServerErrors } from '../ui.tsx';

export default function PlanPage() {
  const code = useParams().code!;
  const plan = useApiQuery('plans.get', { code }, () => api.plans.get.query({ code }));
  const can = useCan();
  if (plan.isPending) return <Loading />;
  if (plan.error) return <ErrorBanner error={plan.error} />;
  const p = plan.data;
  const allowances = Object.entries(p.allowances);
  return (
    <>
      <h1>
        {p.name} <span className="muted">({p.code})</span>
      </h1>
      <dl className="facts card">
        <dt>Price book</dt>
        <dd>
          <Link to={`/dashboard/price-books/${encodeURIComponent(p.price_book)}`}>{p.price_book}</Link> ({p.currency})
        </dd>
        <dt>Interval</dt>
        <dd>{p.interval === 'month' ? 'monthly' : 'yearly'}</dd>
        <dt>Base fee</dt>
        <dd data-testid="plan-base-fee">
          <Money amount={p.base_fee} currency={p.currency} />
        </dd>
        <dt>Minimum spend</dt>
        <dd data-testid="plan-minimum-spend">
          <Money amount={p.minimum_spend} currency={p.currency} />
        </dd>
        <dt>Included</dt>
        <dd data-testid="plan-allowances">
          {allowances.length
            ? allowances.map(([pool, quantity], i) => (
                <span key={pool} data-pool={pool} data-quantity={quantity}>
                  {i > 0 ? ', ' : ''}
                  {quantity} {pool}
                </span>
              ))
            : 'no allowance'}
        </dd>
        <dt>Progressive billing</dt>
        <dd data-testid="plan-thresholds">
          {p.progressive_thresholds.length
            ? p.progressive_thresholds.map((t, i) => (
                <span key={t}>
                  {i > 0 ? ', ' : ''}
                  <Money amount={t} currency={p.currency} />
                </span>
              ))
            : 'none'}
        </dd>
        <dt>Term commitment</dt>
        <dd data-testid="plan-term-commitment" data-periods={p.term_commitment?.periods ?? ''}>
          {p.term_commitment ? (
            <>
              <Money amount={p.term_commitment.minimum_spend} currency={p.currency} /> over {p.term_commitment.periods}{' '}
              periods
            </>
          ) : (
            'none'
          )}
        </dd>
        <dt>Invoice grace</dt>
        <dd>{p.invoice_grace_hours} h</dd>
        <dt>Created</dt>
        <dd>
          {formatInstant(p.created_at)} by {p.created_by}
        </dd>
      </dl>
      {can.bill ? <Subscribe plan={p.code} /> : null}
    </>
  );
}

interface SubscribeForm {
  customer: string;
  started_at: string;
  discount_percent: string;
}

function Subscribe({ plan }: { plan: string }) {
  const form = useForm<SubscribeForm>({ defaultValues: { customer: '', started_at: '', discount_percent: '' } });
  const subscribe = useApiMutation(
    (values: SubscribeForm) =>
      api.subscriptions.create.mutate({
        id: values.customer.trim(),
        subscription: {
          plan,
          ...(values.started_at ? { started_at: values.started_at } : {}),
          ...(values.discount_percent ? { discount_percent: values.discount_percent } : {}),
        },
      }),
    ['subscriptions.get'],
  );
  useServerErrors(form, subscribe.error, 'subscription.');
  return (
    <section className="card" aria-labelledby="subscribe-title">
      <h2 id="subscribe-title">Subscribe a customer</h2>
      <form onSubmit={form.handleSubmit((values) => subscribe.mutate(values))} noValidate>
        <TextField form={form} name="customer" label="Customer id" required />
        <TextField
          form={form}
          name="started_at"
          label="Starts at"
          hint="ISO 8601, e.g. 2026-12-01T00:00:00Z; blank: now."
        />
        <TextField form={form} name="discount_percent" label="Negotiated discount (%)" hint="Blank: none." />
        <ErrorBanner error={subscribe.error} />
        <button type="submit" disabled={subscribe.isPending}>
          Subscribe
        </button>
      </form>
      {subscribe.data ? (
        <Notice>
          <Link
            to={`/dashboard/customers/${encodeURIComponent(subscribe.data.customer_id)}`}
            data-testid="subscribed-customer"
          >
            {subscribe.data.customer_id}
          </Link>{' '}
          is subscribed from {formatInstant(subscribe.data.started_at)}; its current period ends{' '}
          {formatInstant(subscribe.data.current_period.end)}.
        </Notice>
      ) : null}
    </section>
  );
}
