// The audit log: every change, who made it and through what, newest first; filtered by entity.
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { api, useApiQuery } from '../api.ts';
import { DataTable, type Columns } from '../DataTable.tsx';
import { ErrorBanner, Loading, TextField, formatInstant } from '../ui.tsx';

type Entry = Awaited<ReturnType<typeof api.audit.list.query>>[number];

const columns: Columns<Entry> = [
  { header: 'When', accessorKey: 'at', cell: ({ getValue }) => formatInstant(getValue()) },
  { header: 'Action', accessorKey: 'action' },
  { header: 'Entity', id: 'entity', cell: ({ row }) => `${row.original.entity.type} ${row.original.entity.id}` },
  { header: 'By', id: 'actor', cell: ({ row }) => `${row.original.actor.type} ${row.original.actor.id.slice(0, 8)}` },
  {
    header: 'Change',
    id: 'change',
    cell: ({ row }) =>
      row.original.after || row.original.before ? (
        <details>
          <summary>show</summary>
          <pre>{JSON.stringify({ before: row.original.before, after: row.original.after }, null, 2)}</pre>
        </details>
      ) : null,
  },
];

export default function Audit() {
  const [filter, setFilter] = useState<{ entity_type?: string; entity_id?: string }>({});
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const before = cursors.at(-1);
  const input = { limit: 50, ...filter, ...(before ? { before_id: before } : {}) };
  const log = useApiQuery('audit.list', input, () => api.audit.list.query(input), {
    placeholderData: (previous) => previous,
  });
  const form = useForm({ defaultValues: { entity_type: '', entity_id: '' } });
  return (
    <>
      <h1>Audit log</h1>
      <form
        className="toolbar"
        onSubmit={form.handleSubmit((values) => {
          setFilter({
            ...(values.entity_type ? { entity_type: values.entity_type } : {}),
            ...(values.entity_id ? { entity_id: values.entity_id } : {}),
          });
          setCursors([undefined]);
        })}
      >
        <TextField form={form} name="entity_type" label="Entity type" />
        <TextField form={form} name="entity_id" label="Entity id" />
        <button type="submit">Filter</button>
      </form>
      {log.isPending ? <Loading /> : null}
      <ErrorBanner error={log.error} />
      {log.data ? <DataTable label="Audit log" data={log.data} columns={columns} rowId={(e) => e.id} /> : null}
      <div className="toolbar">
        <button
          type="button"
          className="secondary"
          disabled={cursors.length <= 1}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          className="secondary"
          disabled={(log.data?.length ?? 0) < 50}
          onClick={() => setCursors([...cursors, log.data!.at(-1)!.id])}
        >
          Older
        </button>
      </div>
    </>
  );
}
