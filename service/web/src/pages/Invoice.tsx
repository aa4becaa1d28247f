// One invoice: its lines as the API computed them, and what the caller's role allows: finalize a draft, record a
// payment, void, or issue a credit note. The server decides; buttons a role cannot use are not shown.
import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useParams } from 'react-router';
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { DataTable, numberColumn, type Columns } from '../DataTable.tsx';
import { useCan } from '../layout.tsx';
import { ErrorBanner, InvoiceMoney, Loading, Money, TextField, formatInstant, useServerErrors } from '../ui.tsx';

type Invoice = Awaited<ReturnType<typeof api.invoices.get.query>>;
type Line = Invoice['lines'][number];

const lineColumns: Columns<Line> = [
  { header: '#', accessorKey: 'line' },
  { header: 'Kind', accessorKey: 'kind' },
  { header: 'Description', accessorKey: 'description' },
  { header: 'Quantity', accessorKey: 'quantity', ...numberColumn, cell: ({ getValue }) => getValue() ?? '' },
  {
    header: 'Unit price',
    accessorKey: 'unit_price',
    ...numberColumn,
    cell: ({ row }) => (row.original.unit_price ? `${row.original.unit_price} / ${row.original.per}` : ''),
  },
  {
    header: 'Amount',
    accessorKey: 'amount',
    ...numberColumn,
    cell: ({ row }) => <Money amount={row.original.amount} />,
  },
];

export default function InvoicePage() {
  const id = useParams().id!;
  const canBill = useCan().bill;
  const invoice = useApiQuery('invoices.get', { id }, () => api.invoices.get.query({ id }));
  if (invoice.isPending) return <Loading />;
  if (invoice.error) return <ErrorBanner error={invoice.error} />;
  const i = invoice.data;
  return (
    <>
      <h1>
        Invoice {i.number ?? '(draft)'}{' '}
        <span className={`pill ${i.status}`} data-testid="invoice-status">
          {i.status}
        </span>
      </h1>
      <dl className="facts card">
        <dt>Customer</dt>
        <dd>
          <Link to={`/dashboard/customers/${encodeURIComponent(i.customer_id)}`}>{i.customer_id}</Link>
        </dd>
        <dt>Period</dt>
        <dd>
          {formatInstant(i.period.start)} – {formatInstant(i.period.end)}
        </dd>
        <dt>Total</dt>
        <dd data-testid="invoice-total">
          <InvoiceMoney amount={i.total} currency={i.currency} minorUnit={i.minor_unit} />{' '}
          <span className="muted">(exact {i.total_exact})</span>
        </dd>
        <dt>Amount due</dt>
        <dd data-testid="invoice-due">
          <InvoiceMoney amount={i.amount_due} currency={i.currency} minorUnit={i.minor_unit} />
        </dd>
        <dt>Finalizes</dt>
        <dd>
          {i.finalized_at
            ? `finalized ${formatInstant(i.finalized_at)}`
            : `on its own at ${formatInstant(i.finalize_at)}`}
        </dd>
      </dl>
      <section className="card" aria-labelledby="lines-title">
        <h2 id="lines-title">Lines</h2>
        <DataTable
          label="Invoice lines"
          data={i.lines}
          columns={lineColumns}
          rowId={(l) => String(l.line)}
          empty="No lines."
        />
      </section>
      {i.status !== 'draft' ? <InvoiceDocument id={i.id} /> : null}
      {canBill ? <Actions invoice={i} /> : <p className="muted">Your role can read invoices but not change them.</p>}
      <CreditNotes invoiceId={i.id} />
    </>
  );
}

/** The invoice document (issued at finalization) as the server renders it, offered as a file. */
function InvoiceDocument({ id }: { id: string }) {
  const input = { id, format: 'pdf' as const };
  const document = useApiQuery('documents.invoice', input, () => api.documents.invoice.query(input), {
    staleTime: Infinity,
  });
  const [href, setHref] = useState<string>();
  useEffect(() => {
    if (!document.data) return;
    const bytes = Uint8Array.from(atob(document.data.base64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: document.data.content_type }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [document.data]);
  return (
    <section className="card" aria-labelledby="document-title">
      <h2 id="document-title">Invoice document</h2>
      {document.isPending ? <Loading what="Rendering the PDF" /> : null}
      <ErrorBanner error={document.error} />
      {href && document.data ? (
        <p>
          <a href={href} download={document.data.filename} data-testid="invoice-pdf">
            Download {document.data.filename}
          </a>
        </p>
      ) : null}
    </section>
  );
}

function Actions({ invoice }: { invoice: Invoice }) {
  const refresh = ['invoices.get', 'invoices.list', 'creditNotes.list', 'documents.invoice'];
  const finalize = useApiMutation(() => api.invoices.finalize.mutate({ id: invoice.id }), refresh);
  const pay = useApiMutation(() => api.invoices.pay.mutate({ id: invoice.id }), refresh);
  const voidForm = useForm({ defaultValues: { reason: '' } });
  const voidInvoice = useApiMutation((reason: string) => api.invoices.void.mutate({ id: invoice.id, reason }), refresh);
  useServerErrors(voidForm, voidInvoice.error);
  const creditForm = useForm({ defaultValues: { amount: '', reason: '' } });
  const credit = useApiMutation(
    (values: { amount: string; reason: string }) =>
      api.creditNotes.create.mutate({
        invoice_id: invoice.id,
        credit_note: { reason: values.reason, ...(values.amount ? { amount: values.amount } : {}) },
      }),
    refresh,
  );
  useServerErrors(creditForm, credit.error, 'credit_note.');
  return (
    <section className="card" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      {invoice.status === 'draft' ? (
        <p>
          <button type="button" onClick={() => finalize.mutate(undefined)} disabled={finalize.isPending}>
            Finalize now
          </button>
        </p>
      ) : null}
      <ErrorBanner error={finalize.error} />
      {invoice.status === 'finalized' ? (
        <>
          <p>
            <button type="button" className="secondary" onClick={() => pay.mutate(undefined)} disabled={pay.isPending}>
              Mark as paid
            </button>
          </p>
          <ErrorBanner error={pay.error} />
          <form
            className="toolbar"
            onSubmit={voidForm.handleSubmit((values) => voidInvoice.mutate(values.reason))}
            aria-label="Void the invoice"
          >
            <TextField form={voidForm} name="reason" label="Reason to void" required />
            <button type="submit" className="danger" disabled={voidInvoice.isPending}>
              Void
            </button>
          </form>
          <ErrorBanner error={voidInvoice.error} />
        </>
      ) : null}
      {invoice.status === 'finalized' || invoice.status === 'paid' ? (
        <form
          className="toolbar"
          onSubmit={creditForm.handleSubmit((values) => credit.mutate(values))}
          aria-label="Issue a credit note"
        >
          <TextField form={creditForm} name="amount" label="Credit amount" hint="Blank: the whole remainder." />
          <TextField form={creditForm} name="reason" label="Reason for the credit" required />
          <button type="submit" disabled={credit.isPending}>
            Issue credit note
          </button>
        </form>
      ) : null}
      <ErrorBanner error={credit.error} />
    </section>
  );
}

function CreditNotes({ invoiceId }: { invoiceId: string }) {
  const input = { invoice_id: invoiceId, limit: 20 };
  const notes = useApiQuery('creditNotes.list', input, () => api.creditNotes.list.query(input));
  if (!notes.data || notes.data.data.length === 0) return null;
  return (
    <section className="card" aria-labelledby="notes-title">
      <h2 id="notes-title">Credit notes</h2>
      <ul>
        {notes.data.data.map((note) => (
          <li key={note.id} data-credit-note={note.id}>
            {note.number} — <Money amount={note.total} currency={note.currency} /> — {note.reason}
          </li>
        ))}
      </ul>
    </section>
  );
}
