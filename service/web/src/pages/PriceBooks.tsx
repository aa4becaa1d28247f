// The tenant's price books; each opens its timeline and editor.
import { Link } from 'react-router';
import { api, useApiQuery } from '../api.ts';
import { DataTable, type Columns } from '../DataTable.tsx';
import { ErrorBanner, Loading, formatInstant } from '../ui.tsx';

type Book = Awaited<ReturnType<typeof api.priceBooks.list.query>>['data'][number];

const columns: Columns<Book> = [
  { header: 'Book', accessorKey: 'code', cell: ({ getValue }) => <Link to={`/dashboard/price-books/${encodeURIComponent(getValue())}`}>{getValue()}</Link> },
  { header: 'Name', accessorKey: 'name', cell: ({ getValue }) => getValue() ?? '—' },
  { header: 'Currency', accessorKey: 'currency' },
  { header: 'Created', accessorKey: 'created_at', cell: ({ getValue }) => formatInstant(getValue()) },
];

export default function PriceBooks() {
  const books = useApiQuery('priceBooks.list', {}, () => api.priceBooks.list.query({}));
  return (
    <>
      <h1>Price books</h1>
      {books.isPending ? <Loading /> : null}
      <ErrorBanner error={books.error} />
      {books.data ? <DataTable label="Price books" data={books.data.data} columns={columns} rowId={(b) => b.code} empty="No price books yet: First run creates a starter book." /> : null}
    </>
  );
}
