// The tenant's price books, each opening its timeline and editor; and a new book imported from a public catalogue
// (genai-prices or LiteLLM) by the server's importer, with what it skipped and noted.
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link } from 'react-router';
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { DataTable, type Columns } from '../DataTable.tsx';
import { useCan } from '../layout.tsx';
import { ErrorBanner, Loading, Notice, TextField, formatInstant, useServerErrors } from '../ui.tsx';

type Book = Awaited<ReturnType<typeof api.priceBooks.list.query>>['data'][number];

const columns: Columns<Book> = [
  {
    header: 'Book',
    accessorKey: 'code',
    cell: ({ getValue }) => <Link to={`/dashboard/price-books/${encodeURIComponent(getValue())}`}>{getValue()}</Link>,
  },
  { header: 'Name', accessorKey: 'name', cell: ({ getValue }) => getValue() ?? '—' },
  { header: 'Currency', accessorKey: 'currency' },
  { header: 'Created', accessorKey: 'created_at', cell: ({ getValue }) => formatInstant(getValue()) },
];

export default function PriceBooks() {
  const books = useApiQuery('priceBooks.list', {}, () => api.priceBooks.list.query({}));
  const can = useCan();
  return (
    <>
      <h1>Price books</h1>
      {books.isPending ? <Loading /> : null}
      <ErrorBanner error={books.error} />
      {books.data ? (
        <DataTable
          label="Price books"
          data={books.data.data}
          columns={columns}
          rowId={(b) => b.code}
          empty="No price books yet: First run creates a starter book."
        />
      ) : null}
      {can.bill ? <ImportCatalogue /> : null}
    </>
  );
}

interface ImportForm {
  source: 'genai-prices' | 'litellm';
  book_id: string;
  name: string;
  catalogue: string;
}

function ImportCatalogue() {
  const form = useForm<ImportForm>({ defaultValues: { source: 'litellm', book_id: '', name: '', catalogue: '' } });
  const [problem, setProblem] = useState<string>();
  const run = useApiMutation(
    (values: ImportForm & { parsed: Record<string, unknown> | unknown[] }) =>
      api.priceBooks.import.mutate({
        source: values.source,
        catalogue: values.parsed as Record<string, unknown>,
        ...(values.book_id.trim() ? { book_id: values.book_id.trim() } : {}),
        ...(values.name.trim() ? { name: values.name.trim() } : {}),
      }),
    ['priceBooks.list'],
  );
  useServerErrors(form, run.error);
  const submit = (values: ImportForm) => {
    try {
      setProblem(undefined);
      run.mutate({ ...values, parsed: JSON.parse(values.catalogue) });
    } catch (error) {
      setProblem(`The catalogue is not JSON: ${(error as Error).message}`);
    }
  };
  const loadFile = async (file: File | undefined) => {
    if (file) form.setValue('catalogue', await file.text());
  };
  const result = run.data;
  return (
    <section className="card" aria-labelledby="import-title">
      <h2 id="import-title">Import a public catalogue</h2>
      <form onSubmit={form.handleSubmit(submit)} noValidate aria-label="Import a catalogue">
        <div className="grid2">
          <div className="field">
            <label htmlFor="import-source">Catalogue</label>
            <select id="import-source" {...form.register('source')}>
              <option value="litellm">LiteLLM model price map</option>
              <option value="genai-prices">genai-prices data.v2.json</option>
            </select>
          </div>
          <TextField form={form} name="book_id" label="New book id" hint="Blank: the catalogue's name." />
          <TextField form={form} name="name" label="New book name" />
          <div className="field">
            <label htmlFor="import-file">Catalogue file</label>
            <input
              id="import-file"
              type="file"
              accept="application/json,.json"
              onChange={(event) => void loadFile(event.target.files?.[0])}
            />
          </div>
        </div>
        <div className="field">
          <label htmlFor="import-json">Catalogue JSON</label>
          <textarea id="import-json" rows={5} {...form.register('catalogue', { required: 'required' })} />
        </div>
        {problem ? <p className="field-error">{problem}</p> : null}
        <ErrorBanner error={run.error} />
        <button type="submit" disabled={run.isPending}>
          Import as a new book
        </button>
      </form>
      {result ? (
        <Notice>
          Imported{' '}
          <Link to={`/dashboard/price-books/${encodeURIComponent(result.price_book.code)}`} data-testid="imported-book">
            {result.price_book.code}
          </Link>{' '}
          as {result.price_book.versions.length} version(s); {result.skipped.length} model(s) skipped,{' '}
          {result.notes.length} note(s).
          {result.skipped.length ? (
            <ul>
              {result.skipped.map((s) => (
                <li key={s.path} data-skipped={s.path}>
                  {s.model ?? s.path}: {s.reason}
                </li>
              ))}
            </ul>
          ) : null}
        </Notice>
      ) : null}
    </section>
  );
}
