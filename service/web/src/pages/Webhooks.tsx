// Webhook endpoints (Standard Webhooks): where notifications go, their signing secret (shown once), a test send.
import { useForm } from 'react-hook-form';
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { DataTable, type Columns } from '../DataTable.tsx';
import { ErrorBanner, Loading, Notice, TextField, formatInstant, useServerErrors } from '../ui.tsx';

type Endpoint = Awaited<ReturnType<typeof api.webhooks.list.query>>['data'][number];

export default function Webhooks() {
  const endpoints = useApiQuery('webhooks.list', undefined, () => api.webhooks.list.query());
  const remove = useApiMutation((id: string) => api.webhooks.delete.mutate({ id }), ['webhooks.list']);
  const form = useForm({ defaultValues: { url: '', description: '' } });
  const create = useApiMutation(
    (input: { url: string; description: string }) => api.webhooks.create.mutate(input),
    ['webhooks.list'],
  );
  useServerErrors(form, create.error);
  const columns: Columns<Endpoint> = [
    { header: 'URL', accessorKey: 'url' },
    { header: 'Description', accessorKey: 'description' },
    {
      header: 'Types',
      accessorKey: 'event_types',
      cell: ({ getValue }) => ((getValue() as string[]).length ? (getValue() as string[]).join(', ') : 'all'),
    },
    { header: 'Enabled', accessorKey: 'enabled', cell: ({ getValue }) => (getValue() ? 'yes' : 'no') },
    { header: 'Created', accessorKey: 'created_at', cell: ({ getValue }) => formatInstant(getValue()) },
    {
      header: '',
      id: 'delete',
      cell: ({ row }) => (
        <button type="button" className="secondary" onClick={() => remove.mutate(row.original.id)}>
          Delete {row.original.url}
        </button>
      ),
    },
  ];
  return (
    <>
      <h1>Webhooks</h1>
      {endpoints.isPending ? <Loading /> : null}
      <ErrorBanner error={endpoints.error ?? remove.error} />
      {endpoints.data ? (
        <DataTable
          label="Webhook endpoints"
          data={endpoints.data.data}
          columns={columns}
          rowId={(e) => e.id}
          empty="No endpoints yet."
        />
      ) : null}
      <section className="card" aria-labelledby="new-endpoint-title">
        <h2 id="new-endpoint-title">New endpoint</h2>
        <form
          onSubmit={form.handleSubmit((values) => create.mutate(values, { onSuccess: () => form.reset() }))}
          noValidate
        >
          <TextField
            form={form}
            name="url"
            label="Endpoint URL"
            type="url"
            required
            hint="https://, where your systems receive signed events."
          />
          <TextField form={form} name="description" label="Description" />
          <ErrorBanner error={create.error} />
          <button type="submit" disabled={create.isPending}>
            Add endpoint
          </button>
        </form>
        {create.data && 'secret' in create.data ? (
          <Notice>
            Signing secret, shown once: <code>{String(create.data.secret)}</code>
          </Notice>
        ) : null}
      </section>
    </>
  );
}
