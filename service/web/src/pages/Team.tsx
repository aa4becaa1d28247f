// Team and roles: who can log in to this tenant and as what. Nobody grants a role above their own (the server checks).
import { useForm } from 'react-hook-form';
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { DataTable, type Columns } from '../DataTable.tsx';
import { ErrorBanner, Loading, TextField, formatInstant, useServerErrors } from '../ui.tsx';

const roles = ['owner', 'admin', 'billing', 'viewer'] as const;
type Role = (typeof roles)[number];
type User = Awaited<ReturnType<typeof api.users.list.query>>[number];

export default function Team() {
  const users = useApiQuery('users.list', undefined, () => api.users.list.query());
  const changeRole = useApiMutation(
    (input: { user_id: string; role: Role }) => api.users.changeRole.mutate(input),
    ['users.list'],
  );
  const remove = useApiMutation((user_id: string) => api.users.remove.mutate({ user_id }), ['users.list']);
  const columns: Columns<User> = [
    { header: 'Email', accessorKey: 'email' },
    { header: 'Name', accessorKey: 'name', cell: ({ getValue }) => getValue() ?? '—' },
    {
      header: 'Role',
      accessorKey: 'role',
      cell: ({ row }) =>
        row.original.disabled_at ? (
          row.original.role
        ) : (
          <select
            aria-label={`Role of ${row.original.email}`}
            value={row.original.role}
            onChange={(event) => changeRole.mutate({ user_id: row.original.id, role: event.target.value as Role })}
          >
            {roles.map((role) => (
              <option key={role} value={role}>
                {role}
              </option>
            ))}
          </select>
        ),
    },
    {
      header: 'Email verified',
      accessorKey: 'email_verified',
      cell: ({ getValue }) => (getValue() ? 'yes' : 'not yet'),
    },
    {
      header: 'Status',
      accessorKey: 'disabled_at',
      cell: ({ getValue }) => (getValue() ? `removed ${formatInstant(getValue())}` : 'active'),
    },
    {
      header: '',
      id: 'remove',
      cell: ({ row }) =>
        row.original.disabled_at ? null : (
          <button type="button" className="secondary" onClick={() => remove.mutate(row.original.id)}>
            Remove {row.original.email}
          </button>
        ),
    },
  ];
  return (
    <>
      <h1>Team and roles</h1>
      {users.isPending ? <Loading /> : null}
      <ErrorBanner error={users.error} />
      <ErrorBanner error={changeRole.error} />
      <ErrorBanner error={remove.error} />
      {users.data ? <DataTable label="Users" data={users.data} columns={columns} rowId={(u) => u.id} /> : null}
      {users.data ? <AddUser /> : null}
    </>
  );
}

function AddUser() {
  const form = useForm({ defaultValues: { email: '', name: '', password: '', role: 'viewer' as Role } });
  const create = useApiMutation(
    (input: { email: string; name?: string; password: string; role: Role }) => api.users.create.mutate(input),
    ['users.list'],
  );
  useServerErrors(form, create.error);
  return (
    <section className="card" aria-labelledby="add-user-title">
      <h2 id="add-user-title">Add a user</h2>
      <form
        onSubmit={form.handleSubmit((values) =>
          create.mutate({ ...values, name: values.name || undefined }, { onSuccess: () => form.reset() }),
        )}
        noValidate
      >
        <TextField form={form} name="email" label="Email" type="email" required />
        <TextField form={form} name="name" label="Name" />
        <TextField
          form={form}
          name="password"
          label="First password"
          type="password"
          required
          minLength={12}
          autoComplete="new-password"
        />
        <div className="field">
          <label htmlFor="new-user-role">Role</label>
          <select id="new-user-role" {...form.register('role')}>
            {roles.map((role) => (
              <option key={role} value={role}>
                {role}
              </option>
            ))}
          </select>
        </div>
        <ErrorBanner error={create.error} />
        <button type="submit" disabled={create.isPending}>
          Add user
        </button>
      </form>
    </section>
  );
}
