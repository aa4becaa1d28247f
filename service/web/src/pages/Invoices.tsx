// Invoices of every customer, newest period first, filtered by status; keyset paging like the customers list.
import { useState } from 'react';
import { Link } from 'react-router';
import { api, useApiQuery } from '../api.ts';
import { DataTable, numberColumn, type Columns } from '../DataTable.tsx';
import { ErrorBanner, InvoiceMoney, Loading, Money, formatInstant } from '../ui.tsx';

type Invoice = Awaited<ReturnType<typeof api.invoices.list.query>>['data'][number];
const statuses = ['draft', 'finalized', 'paid', 'void'] as const;

const columns: Columns<Invoice> = [
  {
    header: 'Invoice',
    id: 'number',
    cell: ({ row }) => (
      <Link to={`/dashboard/invoices/${row.original.id}`}>
        {row.original.number ?? `draft ${row.original.id.slice(0, 8)}`}
      </Link>
    ),
  },
  {
    header: 'Customer',
    accessorKey: 'customer_id',
    cell: ({ getValue }) => <Link to={`/dashboard/customers/${encodeURIComponent(getValue())}`}>{getValue()}</Link>,
  },
  {
    header: 'Period',
    id: 'period',
    cell: ({ row }) => `${formatInstant(row.original.period.start)} – ${formatInstant(row.original.period.end)}`,
  },
  {
    header: 'Status',
    accessorKey: 'status',
    cell: ({ getValue }) => <span className={`pill ${getValue()}`}>{getValue()}</span>,
  },
  {
    header: 'Total',
    accessorKey: 'total',
    ...numberColumn,
    cell: ({ row }) => (
      <InvoiceMoney amount={row.original.total} currency={row.original.currency} minorUnit={row.original.minor_unit} />
    ),
  },
  {
    header: 'Due',
    accessorKey: 'amount_due',
    ...numberColumn,
    cell: ({ row }) => (
      <InvoiceMoney
        amount={row.original.amount_due}
        currency={row.original.currency}
        minorUnit={row.original.minor_unit}
      />
    ),
  },
];

export default function Invoices() {
  const [status, setStatus] = useState<(typeof statuses)[number] | ''>('');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const startingAfter = cursors.at(-1);
  const input = {
    limit: 50,
    ...(status ? { status } : {}),
    ...(startingAfter ? { starting_after: startingAfter } : {}),
  };
  const list = useApiQuery('invoices.list', input, () => api.invoices.list.query(input), {
    placeholderData: (previous) => previous,
  });
  return (
    <>
      <h1>Invoices</h1>
      <div className="toolbar">
        <div className="field">
          <label htmlFor="status-filter">Status</label>
          <select
            id="status-filter"
            value={status}
            onChange={(event) => {
              setStatus(event.target.value as typeof status);
              setCursors([undefined]);
            }}
          >
            <option value="">any</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      {list.isPending ? <Loading /> : null}
      <ErrorBanner error={list.error} />
      {list.data ? (
        <DataTable
          label="Invoices"
          data={list.data.data}
          columns={columns}
          rowId={(i) => i.id}
          empty="No invoices yet: one is drafted when a customer's period closes."
        />
      ) : null}
      <div className="toolbar">
        <button
          type="button"
          className="secondary"
          disabled={cursors.length <= 1}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Previous page
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!list.data?.has_more}
          onClick={() => setCursors([...cursors, list.data!.data.at(-1)!.id])}
        >
          Next page
        </button>
      </div>
    </>
  );
}
