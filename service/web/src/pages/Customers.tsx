// Customers: keyset paging over any number of them (the cursor is the last id of a page), and a jump to one by id.
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useNavigate } from 'react-router';
import { api, useApiQuery } from '../api.ts';
import { DataTable, type Columns } from '../DataTable.tsx';
import { ErrorBanner, Loading, TextField, formatInstant } from '../ui.tsx';

const pageSize = 50;

type Customer = Awaited<ReturnType<typeof api.customers.list.query>>['data'][number];

const columns: Columns<Customer> = [
  { header: 'Customer', accessorKey: 'external_id', cell: ({ row }) => <Link to={`/dashboard/customers/${encodeURIComponent(row.original.external_id)}`}>{row.original.external_id}</Link> },
  { header: 'Name', accessorKey: 'name', cell: ({ getValue }) => getValue() ?? '—' },
  { header: 'Currency', accessorKey: 'currency' },
  { header: 'Price book', id: 'price_book', cell: ({ row }) => row.original.price_book?.code ?? '—' },
  { header: 'Parent', accessorKey: 'parent_id', cell: ({ getValue }) => getValue() ?? '—' },
  { header: 'Reseller', accessorKey: 'is_reseller', cell: ({ getValue }) => (getValue() ? 'yes' : '') },
  { header: 'Created', accessorKey: 'created_at', cell: ({ getValue }) => formatInstant(getValue()) },
];

export default function Customers() {
  // The cursors of the pages before this one: "previous" pops, "next" pushes.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const startingAfter = cursors.at(-1);
  const input = { limit: pageSize, ...(startingAfter ? { starting_after: startingAfter } : {}) };
  const list = useApiQuery('customers.list', input, () => api.customers.list.query(input), { placeholderData: (previous) => previous });
  const navigate = useNavigate();
  const jump = useForm({ defaultValues: { id: '' } });
  return (
    <>
      <h1>Customers</h1>
      <form className="toolbar" role="search" onSubmit={jump.handleSubmit(({ id }) => navigate(`/dashboard/customers/${encodeURIComponent(id.trim())}`))}>
        <TextField form={jump} name="id" label="Find a customer by id" required />
        <button type="submit">Open</button>
      </form>
      {list.isPending ? <Loading /> : null}
      <ErrorBanner error={list.error} />
      {list.data ? <DataTable label="Customers" data={list.data.data} columns={columns} rowId={(c) => c.external_id} empty="No customers yet: send a test event from First run." /> : null}
      <div className="toolbar">
        <button type="button" className="secondary" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <span className="muted">Page {cursors.length}</span>
        <button
          type="button"
          className="secondary"
          disabled={!list.data?.has_more}
          onClick={() => setCursors([...cursors, list.data!.data.at(-1)!.external_id])}
        >
          Next page
        </button>
      </div>
    </>
  );
}
