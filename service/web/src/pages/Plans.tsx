// Plans: what a subscription bills besides usage (base fee, interval, allowances, minimum spend) and the price book
// that rates its usage. Plans never change once created; a new plan does. A billing role can create one here.
import { useForm } from 'react-hook-form';
import { Link, useNavigate } from 'react-router';
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { DataTable, numberColumn, type Columns } from '../DataTable.tsx';
import { useCan } from '../layout.tsx';
import { AllowanceRows, allowancesOf, planTermsField, thresholdsOf, type AllowanceRow } from '../PlanTerms.tsx';
import { ErrorBanner, Loading, Money, TextField, submitAfresh, useServerErrors } from '../ui.tsx';

type Plan = Awaited<ReturnType<typeof api.plans.list.query>>['data'][number];

const columns: Columns<Plan> = [
  {
    header: 'Plan',
    accessorKey: 'code',
    cell: ({ getValue }) => <Link to={`/dashboard/plans/${encodeURIComponent(getValue())}`}>{getValue()}</Link>,
  },
  { header: 'Name', accessorKey: 'name' },
  {
    header: 'Price book',
    accessorKey: 'price_book',
    cell: ({ getValue }) => <Link to={`/dashboard/price-books/${encodeURIComponent(getValue())}`}>{getValue()}</Link>,
  },
  { header: 'Interval', accessorKey: 'interval' },
  {
    header: 'Base fee',
    accessorKey: 'base_fee',
    ...numberColumn,
    cell: ({ row }) => <Money amount={row.original.base_fee} currency={row.original.currency} />,
  },
  {
    header: 'Minimum spend',
    accessorKey: 'minimum_spend',
    ...numberColumn,
    cell: ({ row }) => <Money amount={row.original.minimum_spend} currency={row.original.currency} />,
  },
];

export default function Plans() {
  const plans = useApiQuery('plans.list', {}, () => api.plans.list.query({}));
  const can = useCan();
  return (
    <>
      <h1>Plans</h1>
      {plans.isPending ? <Loading /> : null}
      <ErrorBanner error={plans.error} />
      {plans.data ? (
        <DataTable label="Plans" data={plans.data.data} columns={columns} rowId={(p) => p.code} empty="No plans yet." />
      ) : null}
      {can.bill ? <NewPlan /> : null}
    </>
  );
}

interface PlanForm {
  code: string;
  name: string;
  price_book: string;
  interval: 'month' | 'year';
  base_fee: string;
  minimum_spend: string;
  invoice_grace_hours: string;
  allowances: AllowanceRow[];
  progressive_thresholds: string;
  term_commitment: { minimum_spend: string; periods: string };
}

/** A commitment is asked for by either of its fields; the server names what is missing or wrong. */
function termCommitmentOf({ minimum_spend, periods }: PlanForm['term_commitment']) {
  if (!minimum_spend.trim() && !periods.trim()) return {};
  return { term_commitment: { minimum_spend: minimum_spend.trim(), periods: Number(periods.trim()) } };
}

function NewPlan() {
  const books = useApiQuery('priceBooks.list', {}, () => api.priceBooks.list.query({}));
  const form = useForm<PlanForm>({
    defaultValues: {
      code: '',
      name: '',
      price_book: '',
      interval: 'month',
      base_fee: '0',
      minimum_spend: '',
      invoice_grace_hours: '1',
      allowances: [],
      progressive_thresholds: '',
      term_commitment: { minimum_spend: '', periods: '' },
    },
  });
  const navigate = useNavigate();
  const create = useApiMutation(
    (values: PlanForm) =>
      api.plans.create.mutate({
        code: values.code.trim(),
        name: values.name,
        price_book: values.price_book,
        interval: values.interval,
        base_fee: values.base_fee || '0',
        invoice_grace_hours: Number(values.invoice_grace_hours || '1'),
        ...(values.minimum_spend ? { minimum_spend: values.minimum_spend } : {}),
        allowances: allowancesOf(values.allowances),
        progressive_thresholds: thresholdsOf(values.progressive_thresholds),
        ...termCommitmentOf(values.term_commitment),
      }),
    ['plans.list'],
  );
  useServerErrors(form, create.error, '', planTermsField(form.getValues('allowances')));
  return (
    <section className="card" aria-labelledby="new-plan-title">
      <h2 id="new-plan-title">New plan</h2>
      <form
        onSubmit={submitAfresh(form, (values) =>
          create.mutate(values, { onSuccess: (plan) => navigate(`/dashboard/plans/${encodeURIComponent(plan.code)}`) }),
        )}
        noValidate
      >
        <div className="grid2">
          <TextField form={form} name="code" label="Code" required hint="lowercase letters, digits, _ . : -" />
          <TextField form={form} name="name" label="Name" required />
          <div className="field">
            <label htmlFor="plan-book">Price book</label>
            <select
              id="plan-book"
              {...form.register('price_book', { required: 'required' })}
              aria-invalid={form.formState.errors.price_book ? true : undefined}
            >
              <option value="">choose…</option>
              {books.data?.data.map((b) => (
                <option key={b.code} value={b.code}>
                  {b.code} ({b.currency})
                </option>
              ))}
            </select>
            {form.formState.errors.price_book ? (
              <small className="field-error" data-field="price_book">
                {form.formState.errors.price_book.message}
              </small>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor="plan-interval">Interval</label>
            <select id="plan-interval" {...form.register('interval')}>
              <option value="month">monthly</option>
              <option value="year">yearly</option>
            </select>
          </div>
          <TextField
            form={form}
            name="base_fee"
            label="Base fee per period"
            hint="In the book's currency; partial periods are prorated."
          />
          <TextField form={form} name="minimum_spend" label="Minimum spend per period" hint="Blank: none." />
          <TextField form={form} name="invoice_grace_hours" label="Invoice grace (hours)" type="number" />
          <TextField
            form={form}
            name="progressive_thresholds"
            label="Progressive billing thresholds"
            hint="Amounts, ascending, comma-separated: an invoice is issued as a period's usage reaches each. Blank: none."
          />
          <TextField
            form={form}
            name="term_commitment.minimum_spend"
            label="Term commitment: minimum spend"
            hint="Over the whole term; blank: none."
          />
          <TextField
            form={form}
            name="term_commitment.periods"
            label="Term commitment: periods"
            type="number"
            hint="Billing periods in the term (2 to 120)."
          />
        </div>
        <AllowanceRows form={form} hint="Units of a pool the price book's charges draw, included each period." />
        <ErrorBanner error={create.error} />
        <button type="submit" disabled={create.isPending}>
          Create plan
        </button>
      </form>
    </section>
  );
}
