// Customers: search by id, name or email prefix, and keyset pages over any number of them (the cursor is the
// last id of a page), with each one's spend this period against its budget, its credits and its children.
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link } from 'react-router';
import { api, useApiQuery } from '../api.ts';
import { DataTable, numberColumn, type Columns } from '../DataTable.tsx';
import { ErrorBanner, Loading, Money, TextField } from '../ui.tsx';

const pageSize = 50;

type Customer = Awaited<ReturnType<typeof api.insights.customers.query>>['data'][number];

const columns: Columns<Customer> = [
  {
    header: 'Customer',
    accessorKey: 'external_id',
    cell: ({ row }) => (
      <Link to={`/dashboard/customers/${encodeURIComponent(row.original.external_id)}`}>
        {row.original.external_id}
      </Link>
    ),
  },
  { header: 'Name', accessorKey: 'name', cell: ({ getValue }) => getValue() ?? '—' },
  { header: 'Parent', accessorKey: 'parent_id', cell: ({ getValue }) => getValue() ?? '—' },
  {
    header: 'Children',
    accessorKey: 'children',
    ...numberColumn,
    cell: ({ row }) =>
      row.original.is_reseller || row.original.children
        ? `${row.original.children}${row.original.is_reseller ? ' (reseller)' : ''}`
        : '',
  },
  {
    header: 'Spend this period',
    accessorKey: 'spend',
    ...numberColumn,
    cell: ({ row }) => <Money amount={row.original.spend} currency={row.original.rating_currency} />,
  },
  {
    header: 'Budget used',
    id: 'budget',
    ...numberColumn,
    cell: ({ row }) =>
      row.original.budget ? `${row.original.budget.used_percent}% of ${row.original.budget.amount}` : '—',
  },
  {
    header: 'Credits',
    id: 'credits',
    ...numberColumn,
    cell: ({ row }) => row.original.credits.map((c) => `${c.balance} ${c.currency}`).join(', ') || '—',
  },
];

export default function Customers() {
  const [query, setQuery] = useState('');
  // The cursors of the pages up to this one: "previous" pops, "next" pushes.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const input = { limit: pageSize, ...(query ? { query } : {}), ...(cursor ? { cursor } : {}) };
  const list = useApiQuery('insights.customers', input, () => api.insights.customers.query(input), {
    placeholderData: (previous) => previous,
  });
  const search = useForm({ defaultValues: { query: '' } });
  return (
    <>
      <h1>Customers</h1>
      <form
        className="toolbar"
        role="search"
        onSubmit={search.handleSubmit((values) => {
          setQuery(values.query.trim());
          setCursors([undefined]);
        })}
      >
        <TextField form={search} name="query" label="Search by id, name or email" />
        <button type="submit">Search</button>
      </form>
      {list.isPending ? <Loading /> : null}
      <ErrorBanner error={list.error} />
      {list.data ? (
        <DataTable
          label="Customers"
          data={list.data.data}
          columns={columns}
          rowId={(c) => c.external_id}
          empty={query ? 'No customer matches.' : 'No customers yet: send a test event from First run.'}
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
        <span className="muted">Page {cursors.length}</span>
        <button
          type="button"
          className="secondary"
          disabled={!list.data?.next_cursor}
          onClick={() => setCursors([...cursors, list.data!.next_cursor!])}
        >
          Next page
        </button>
      </div>
    </>
  );
}
