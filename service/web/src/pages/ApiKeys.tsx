// API keys: secret keys for backends (with a role), publishable keys for browsers; a secret is shown once.
import { useForm } from 'react-hook-form';
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { DataTable, type Columns } from '../DataTable.tsx';
import { CopyButton, ErrorBanner, Loading, Notice, TextField, formatInstant, useServerErrors } from '../ui.tsx';

type Key = Awaited<ReturnType<typeof api.apiKeys.list.query>>[number];
type NewKey =
  { kind: 'secret'; name: string; role: 'admin' | 'billing' | 'viewer' } | { kind: 'publishable'; name: string };

export default function ApiKeys() {
  const keys = useApiQuery('apiKeys.list', undefined, () => api.apiKeys.list.query());
  const revoke = useApiMutation((id: string) => api.apiKeys.revoke.mutate({ id }), ['apiKeys.list']);
  const form = useForm({
    defaultValues: {
      name: '',
      kind: 'secret' as 'secret' | 'publishable',
      role: 'admin' as 'admin' | 'billing' | 'viewer',
    },
  });
  const create = useApiMutation((input: NewKey) => api.apiKeys.create.mutate(input), ['apiKeys.list']);
  useServerErrors(form, create.error);
  const columns: Columns<Key> = [
    { header: 'Name', accessorKey: 'name' },
    { header: 'Kind', accessorKey: 'kind' },
    { header: 'Role', accessorKey: 'role' },
    { header: 'Prefix', accessorKey: 'prefix', cell: ({ getValue }) => <code>{getValue()}…</code> },
    { header: 'Created', accessorKey: 'created_at', cell: ({ getValue }) => formatInstant(getValue()) },
    {
      header: 'Status',
      id: 'status',
      cell: ({ row }) =>
        row.original.revoked_at ? (
          `revoked ${formatInstant(row.original.revoked_at)}`
        ) : (
          <button type="button" className="secondary" onClick={() => revoke.mutate(row.original.id)}>
            Revoke {row.original.name}
          </button>
        ),
    },
  ];
  return (
    <>
      <h1>API keys</h1>
      {keys.isPending ? <Loading /> : null}
      <ErrorBanner error={keys.error ?? revoke.error} />
      {keys.data ? <DataTable label="API keys" data={keys.data} columns={columns} rowId={(k) => k.id} /> : null}
      <section className="card" aria-labelledby="new-key-title">
        <h2 id="new-key-title">New key</h2>
        <form
          onSubmit={form.handleSubmit(({ name, kind, role }) =>
            create.mutate(kind === 'secret' ? { kind, name, role } : { kind, name }),
          )}
          noValidate
        >
          <TextField form={form} name="name" label="Key name" required />
          <div className="field">
            <label htmlFor="key-kind">Kind</label>
            <select id="key-kind" {...form.register('kind')}>
              <option value="secret">secret (backend)</option>
              <option value="publishable">publishable (browser)</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="key-role">Role of a secret key</label>
            <select id="key-role" {...form.register('role')}>
              <option value="admin">admin</option>
              <option value="billing">billing</option>
              <option value="viewer">viewer</option>
            </select>
          </div>
          <ErrorBanner error={create.error} />
          <button type="submit" disabled={create.isPending}>
            Create key
          </button>
        </form>
        {create.data ? (
          <Notice>
            Copy it now, it is shown once: <code data-testid="new-key">{create.data.secret}</code>{' '}
            <CopyButton text={create.data.secret} />
          </Notice>
        ) : null}
      </section>
    </>
  );
}
