// A customer's subscription on its page: the plan and discount in force, the current period, its dated amendments,
// and (for a billing role) a new amendment: another plan, other allowances or another discount, from an instant in
// this period.
import { useForm } from 'react-hook-form';
import { Link } from 'react-router';
import { api, errorInfo, useApiMutation, useApiQuery } from './api.ts';
import { DataTable, type Columns } from './DataTable.tsx';
import { useCan } from './layout.tsx';
import { AllowanceRows, allowancesOf, planTermsField, type AllowanceRow } from './PlanTerms.tsx';
import { ErrorBanner, Loading, TextField, formatInstant, submitAfresh, useServerErrors } from './ui.tsx';

type Amendment = Awaited<ReturnType<typeof api.subscriptions.amendments.query>>['data'][number];

const amendmentColumns: Columns<Amendment> = [
  { header: 'From', accessorKey: 'effective_at', cell: ({ getValue }) => formatInstant(getValue()) },
  { header: 'Plan', accessorKey: 'plan' },
  {
    header: 'Allowances',
    id: 'allowances',
    cell: ({ row }) =>
      Object.entries(row.original.allowances)
        .map(([pool, quantity]) => `${quantity} ${pool}`)
        .join(', ') || 'none',
  },
  { header: 'Discount %', accessorKey: 'discount_percent' },
  {
    header: 'Period split',
    id: 'periods',
    cell: ({ row }) =>
      `${formatInstant(row.original.periods.before.start)} – ${formatInstant(row.original.periods.before.end)} | ${formatInstant(row.original.periods.after.start)} – ${formatInstant(row.original.periods.after.end)}`,
  },
  { header: 'By', accessorKey: 'created_by' },
];

export function SubscriptionPanel({ id }: { id: string }) {
  const subscription = useApiQuery('subscriptions.get', { id }, () => api.subscriptions.get.query({ id }), {
    retry: false,
  });
  const amendments = useApiQuery('subscriptions.amendments', { id }, () => api.subscriptions.amendments.query({ id }), {
    enabled: subscription.isSuccess,
  });
  const can = useCan();
  const missing = errorInfo(subscription.error)?.code === 'subscription_not_found';
  const s = subscription.data;
  return (
    <section className="card" aria-labelledby="subscription-title">
      <h2 id="subscription-title">Subscription</h2>
      {subscription.isPending ? <Loading /> : null}
      {missing ? (
        <p className="muted">
          No subscription: usage is rated by the assigned price book alone.{' '}
          <Link to="/dashboard/plans">Subscribe it to a plan</Link>.
        </p>
      ) : (
        <ErrorBanner error={subscription.error} />
      )}
      {s ? (
        <>
          <dl className="facts">
            <dt>Plan</dt>
            <dd data-testid="subscription-plan">
              <Link to={`/dashboard/plans/${encodeURIComponent(s.plan)}`}>{s.plan}</Link> (
              {s.interval === 'month' ? 'monthly' : 'yearly'})
            </dd>
            <dt>Status</dt>
            <dd>{s.status}</dd>
            <dt>Started</dt>
            <dd>{formatInstant(s.started_at)}</dd>
            <dt>Current period</dt>
            <dd data-testid="subscription-period">
              {formatInstant(s.current_period.start)} – {formatInstant(s.current_period.end)}
            </dd>
            <dt>Discount</dt>
            <dd data-testid="subscription-discount">{s.discount_percent}%</dd>
          </dl>
          <h3>Amendments</h3>
          <ErrorBanner error={amendments.error} />
          {amendments.data ? (
            <DataTable
              label="Amendments"
              data={amendments.data.data}
              columns={amendmentColumns}
              rowId={(a) => a.id}
              empty="None: the terms are the subscription's own."
            />
          ) : null}
          {can.bill ? <Amend id={id} /> : null}
        </>
      ) : null}
    </section>
  );
}

interface AmendForm {
  effective_at: string;
  plan: string;
  discount_percent: string;
  allowances: AllowanceRow[];
}

function Amend({ id }: { id: string }) {
  const form = useForm<AmendForm>({
    defaultValues: { effective_at: '', plan: '', discount_percent: '', allowances: [] },
  });
  const amend = useApiMutation(
    (values: AmendForm) =>
      api.subscriptions.amend.mutate({
        id,
        amendment: {
          effective_at: values.effective_at.trim(),
          ...(values.plan ? { plan: values.plan.trim() } : {}),
          ...(values.discount_percent ? { discount_percent: values.discount_percent.trim() } : {}),
          ...(values.allowances.length ? { allowances: allowancesOf(values.allowances) } : {}),
        },
      }),
    ['subscriptions.get', 'subscriptions.amendments'],
  );
  useServerErrors(form, amend.error, 'amendment.', planTermsField(form.getValues('allowances')));
  return (
    <form
      className="toolbar"
      onSubmit={submitAfresh(form, (values) => amend.mutate(values, { onSuccess: () => form.reset() }))}
      aria-label="Amend the subscription"
      noValidate
    >
      <TextField
        form={form}
        name="effective_at"
        label="Amend from"
        required
        hint="ISO 8601, within this period, not before now."
      />
      <TextField form={form} name="plan" label="New plan" hint="Blank: keep." />
      <TextField form={form} name="discount_percent" label="New discount (%)" hint="Blank: keep." />
      <AllowanceRows form={form} hint="New allowances replace the plan's from then on; none: keep." />
      <button type="submit" disabled={amend.isPending}>
        Amend
      </button>
      <ErrorBanner error={amend.error} />
    </form>
  );
}
