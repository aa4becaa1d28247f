// The draft replayed by the server over a past period of every customer (on the same kernel, nothing written):
// revenue and margin per customer and in all, old beside new, and the draft's receipt of any replayed event.
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { api, useApiMutation } from '../api.ts';
import { DataTable, numberColumn, type Columns } from '../DataTable.tsx';
import { ReceiptSteps } from '../Receipt.tsx';
import { ErrorBanner, Money, TextField, useServerErrors } from '../ui.tsx';
import type { BookVersion } from './kernel.ts';

// The simulations procedures (web-server's domains/simulations) land on main beside this page; until the two
// meet, their shapes are written here as that router answers them.
interface Figures {
  events: number;
  old_revenue: string;
  new_revenue: string;
  revenue_change: string;
  old_cost: string;
  new_cost: string;
  old_margin: string;
  new_margin: string;
  margin_change: string;
}
type CustomerFigures = Figures & { customer_id: string };
interface Result {
  price_book: string;
  currency: string;
  periods: number;
  total: Figures & { customers: number };
  customers: CustomerFigures[];
  unratable: { transaction_id: string; customer_id: string; code: string; message: string }[];
  unratable_count: number;
  elapsed_ms: number;
}
interface Rating {
  card: string | null;
  amount: string | null;
  cost: string | null;
  receipt: unknown[];
}
interface SimulatedReceipt {
  transaction_id: string;
  customer_id: string;
  old: Rating;
  new: Rating & { error: { code: string; message: string } | null };
}
type DraftInput = { price_book: string; draft: Record<string, unknown> };
const simulations = (
  api as unknown as {
    simulations: {
      run: { mutate(input: DraftInput & { from: string; until: string }): Promise<Result> };
      receipt: { mutate(input: DraftInput & { transaction_id: string }): Promise<SimulatedReceipt> };
    };
  }
).simulations;

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

/** The last whole calendar month (UTC) before today, as the default period to replay. */
function lastMonth(): { from: string; until: string } {
  const now = new Date();
  const until = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return { from: from.toISOString(), until: until.toISOString() };
}

export function SimulationPanel({ code, draft, compiles }: { code: string; draft: BookVersion; compiles: boolean }) {
  const form = useForm({ defaultValues: lastMonth() });
  const run = useApiMutation((range: { from: string; until: string }) =>
    simulations.run.mutate({ price_book: code, draft: draft as unknown as Record<string, unknown>, ...range }),
  );
  useServerErrors(form, run.error);
  const result = run.data;
  return (
    <section className="card" aria-labelledby="simulation-title">
      <h3 id="simulation-title">Simulation: replay past periods under the draft</h3>
      <form className="toolbar" onSubmit={form.handleSubmit((range) => run.mutate(range))} noValidate>
        <TextField form={form} name="from" label="Periods starting from" required />
        <TextField form={form} name="until" label="until (exclusive)" required />
        <button type="submit" disabled={!compiles || run.isPending}>
          {run.isPending ? 'Replaying…' : 'Run simulation'}
        </button>
      </form>
      <ErrorBanner error={run.error} />
      {result ? (
        <>
          <dl className="facts" data-testid="simulation-total">
            <dt>Customers / periods / events</dt>
            <dd>
              {result.total.customers} / {result.periods} / {result.total.events}
            </dd>
            <dt>Revenue</dt>
            <dd>
              <Money amount={result.total.old_revenue} currency={result.currency} /> →{' '}
              <span data-testid="simulation-new-revenue">
                <Money amount={result.total.new_revenue} currency={result.currency} />
              </span>{' '}
              (
              <Money amount={result.total.revenue_change} />)
            </dd>
            <dt>Margin</dt>
            <dd>
              <Money amount={result.total.old_margin} currency={result.currency} /> →{' '}
              <Money amount={result.total.new_margin} currency={result.currency} /> (
              <Money amount={result.total.margin_change} />)
            </dd>
            <dt>Replayed in</dt>
            <dd>{result.elapsed_ms} ms on the server</dd>
          </dl>
          {result.unratable_count > 0 ? (
            <p className="field-error">
              {result.unratable_count} events the draft cannot rate, e.g. {result.unratable[0].transaction_id}:{' '}
              {result.unratable[0].message}
            </p>
          ) : null}
          <DataTable
            label="Simulation by customer"
            data={result.customers}
            columns={columns}
            rowId={(c) => c.customer_id}
            empty="No rated events in these periods."
          />
          <SimulatedReceipt code={code} draft={draft} />
        </>
      ) : null}
    </section>
  );
}

function SimulatedReceipt({ code, draft }: { code: string; draft: BookVersion }) {
  const form = useForm({ defaultValues: { transaction_id: '' } });
  const [asked, setAsked] = useState(false);
  const receipt = useApiMutation((transactionId: string) =>
    simulations.receipt.mutate({
      price_book: code,
      draft: draft as unknown as Record<string, unknown>,
      transaction_id: transactionId,
    }),
  );
  useServerErrors(form, receipt.error);
  return (
    <div>
      <form
        className="toolbar"
        onSubmit={form.handleSubmit((values) => {
          setAsked(true);
          receipt.mutate(values.transaction_id.trim());
        })}
      >
        <TextField form={form} name="transaction_id" label="Open an event's receipt under the draft" />
        <button type="submit">Open</button>
      </form>
      <ErrorBanner error={receipt.error} />
      {asked && receipt.data ? (
        <div className="grid2" data-testid="simulated-receipt">
          <div>
            <h4>
              As billed: <Money amount={receipt.data.old.amount} />
            </h4>
            <ReceiptSteps steps={receipt.data.old.receipt as { step: string }[]} />
          </div>
          <div>
            <h4>
              Under the draft:{' '}
              <span data-testid="simulated-new-amount">
                <Money amount={receipt.data.new.amount} />
              </span>
            </h4>
            {receipt.data.new.error ? <p className="field-error">{receipt.data.new.error.message}</p> : null}
            <ReceiptSteps steps={receipt.data.new.receipt as { step: string }[]} />
          </div>
        </div>
      ) : null}
    </div>
  );
}
