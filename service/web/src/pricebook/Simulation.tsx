// The draft replayed by the server over a past period of every customer (on the same kernel, nothing written):
// revenue and margin per customer and in all, old beside new, and the draft's receipt of any replayed event.
import { useForm } from 'react-hook-form';
import { api, useApiMutation } from '../api.ts';
import { DataTable, numberColumn, type Columns } from '../DataTable.tsx';
import { ReceiptSteps } from '../Receipt.tsx';
import { ErrorBanner, Money, TextField, useServerErrors } from '../ui.tsx';
import type { BookVersion } from './kernel.ts';

type Simulation = Awaited<ReturnType<typeof api.simulations.run.mutate>>;
type CustomerFigures = Simulation['customers'][number];
type Unratable = Simulation['unratable'][number];
type Range = { from: string; until: string };

const columns: Columns<CustomerFigures> = [
  { header: 'Customer', accessorKey: 'customer_id' },
  { header: 'Events', accessorKey: 'events', ...numberColumn },
  {
    header: 'Revenue now',
    accessorKey: 'old_revenue',
    ...numberColumn,
    cell: ({ getValue }) => <Money amount={getValue()} />,
  },
  {
    header: 'Revenue with draft',
    accessorKey: 'new_revenue',
    ...numberColumn,
    cell: ({ getValue }) => <Money amount={getValue()} />,
  },
  {
    header: 'Change',
    accessorKey: 'revenue_change',
    ...numberColumn,
    cell: ({ getValue }) => <Money amount={getValue()} />,
  },
  {
    header: 'Margin now',
    accessorKey: 'old_margin',
    ...numberColumn,
    cell: ({ getValue }) => <Money amount={getValue()} />,
  },
  {
    header: 'Margin with draft',
    accessorKey: 'new_margin',
    ...numberColumn,
    cell: ({ getValue }) => <Money amount={getValue()} />,
  },
  {
    header: 'Margin change',
    accessorKey: 'margin_change',
    ...numberColumn,
    cell: ({ getValue }) => <Money amount={getValue()} />,
  },
];

const unratableColumns: Columns<Unratable> = [
  { header: 'Event', accessorKey: 'transaction_id' },
  { header: 'Customer', accessorKey: 'customer_id' },
  { header: 'Code', accessorKey: 'code' },
  { header: 'Why the draft cannot rate it', accessorKey: 'message' },
];

/** The last whole calendar month (UTC) before today, as the default period to replay. */
function lastMonth(): Range {
  const now = new Date();
  const until = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return { from: from.toISOString(), until: until.toISOString() };
}

/** A version as the server takes it: any JSON object, checked there by the same compiler. */
const asInput = (draft: BookVersion) => draft as unknown as Record<string, unknown>;

/** One figure of the totals, its name kept beside the API's string for the tests and the reader's tools. */
function Figure({ name, amount, currency }: { name: string; amount: string; currency?: string }) {
  return (
    <span data-figure={name}>
      <Money amount={amount} currency={currency} />
    </span>
  );
}

export function SimulationPanel({ code, draft, compiles }: { code: string; draft: BookVersion; compiles: boolean }) {
  const form = useForm({ defaultValues: lastMonth() });
  const run = useApiMutation((range: Range) =>
    api.simulations.run.mutate({ price_book: code, draft: asInput(draft), ...range }),
  );
  useServerErrors(form, run.error);
  const result = run.data;
  return (
    <section className="card" aria-labelledby="simulation-title">
      <h3 id="simulation-title">Simulation: replay past periods under the draft</h3>
      <form
        className="toolbar"
        onSubmit={form.handleSubmit((range) => {
          // Nothing is replayed while the draft has compiler messages, however the form is submitted.
          if (compiles) run.mutate(range);
        })}
        noValidate
      >
        <TextField form={form} name="from" label="Periods starting from" required />
        <TextField form={form} name="until" label="until (exclusive)" required />
        <button type="submit" disabled={!compiles || run.isPending}>
          {run.isPending ? 'Replaying…' : 'Run simulation'}
        </button>
      </form>
      {!compiles ? <p className="muted">Fix the compiler messages to replay the draft.</p> : null}
      <ErrorBanner error={run.error} />
      {result ? <Result result={result} /> : null}
      {result ? <SimulatedReceipt code={code} draft={draft} /> : null}
    </section>
  );
}

/** One figure of the totals now, with the draft, and the change between them. */
function Movement({
  figure,
  total,
  currency,
}: {
  figure: 'revenue' | 'margin';
  total: Simulation['total'];
  currency: string;
}) {
  return (
    <dd>
      <Figure name={`old_${figure}`} amount={total[`old_${figure}`]} currency={currency} /> →{' '}
      <Figure name={`new_${figure}`} amount={total[`new_${figure}`]} currency={currency} /> (
      <Figure name={`${figure}_change`} amount={total[`${figure}_change`]} />)
    </dd>
  );
}

function Result({ result }: { result: Simulation }) {
  const { total, currency } = result;
  return (
    <>
      <dl className="facts" data-testid="simulation-total">
        <dt>Customers / periods / events</dt>
        <dd data-testid="simulation-counts">
          {total.customers} / {result.periods} / {total.events}
        </dd>
        <dt>Revenue (now → with the draft, change)</dt>
        <Movement figure="revenue" total={total} currency={currency} />
        <dt>Margin (now → with the draft, change)</dt>
        <Movement figure="margin" total={total} currency={currency} />
        <dt>Replayed in</dt>
        <dd>{result.elapsed_ms} ms on the server</dd>
      </dl>
      <DataTable
        label="Simulation by customer"
        data={result.customers}
        columns={columns}
        rowId={(c) => c.customer_id}
        empty="No rated events in these periods."
      />
      {result.unratable_count > 0 ? (
        <>
          <p className="field-error" data-testid="unratable-count">
            {result.unratable_count} event{result.unratable_count > 1 ? 's' : ''} the draft cannot rate
            {result.unratable_count > result.unratable.length ? ` (the first ${result.unratable.length} listed)` : ''}:
            they count in neither figure above.
          </p>
          <DataTable
            label="Events the draft cannot rate"
            data={result.unratable}
            columns={unratableColumns}
            rowId={(u) => u.transaction_id}
            empty=""
          />
        </>
      ) : null}
    </>
  );
}

function SimulatedReceipt({ code, draft }: { code: string; draft: BookVersion }) {
  const form = useForm({ defaultValues: { transaction_id: '' } });
  const receipt = useApiMutation((transactionId: string) =>
    api.simulations.receipt.mutate({ price_book: code, draft: asInput(draft), transaction_id: transactionId }),
  );
  useServerErrors(form, receipt.error);
  const data = receipt.data;
  return (
    <div>
      <form className="toolbar" onSubmit={form.handleSubmit((values) => receipt.mutate(values.transaction_id.trim()))}>
        <TextField form={form} name="transaction_id" label="Open an event's receipt under the draft" />
        <button type="submit">Open</button>
      </form>
      <ErrorBanner error={receipt.error} />
      {data ? (
        <div className="grid2" data-testid="simulated-receipt" data-transaction={data.transaction_id}>
          <div data-side="old">
            <h4>
              As billed: <Money amount={data.old.amount} />
            </h4>
            <p className="muted">
              Card {data.old.card ?? '—'}, cost <Money amount={data.old.cost} />
            </p>
            <ReceiptSteps steps={data.old.receipt} />
          </div>
          <div data-side="new">
            <h4>
              Under the draft: <Money amount={data.new.amount} />
            </h4>
            <p className="muted">
              Card {data.new.card ?? '—'}, cost <Money amount={data.new.cost} />
            </p>
            {data.new.error ? <p className="field-error">{data.new.error.message}</p> : null}
            <ReceiptSteps steps={data.new.receipt} />
          </div>
        </div>
      ) : null}
    </div>
  );
}
