// Tables through TanStack Table: columns declared once per page, rendered the same everywhere.
import { flexRender, getCoreRowModel, useReactTable, type ColumnDef } from '@tanstack/react-table';

export type Columns<T> = ColumnDef<T, any>[];

export function DataTable<T>({
  data,
  columns,
  label,
  empty = 'Nothing yet.',
  rowId,
}: {
  data: T[];
  columns: Columns<T>;
  label: string;
  empty?: string;
  rowId?: (row: T) => string;
}) {
  const table = useReactTable({
    data,
    columns,
    getCoreRowModel: getCoreRowModel(),
    getRowId: rowId ? (row) => rowId(row) : undefined,
  });
  if (data.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table aria-label={label}>
      <thead>
        {table.getHeaderGroups().map((group) => (
          <tr key={group.id}>
            {group.headers.map((header) => (
              <th
                key={header.id}
                scope="col"
                className={(header.column.columnDef.meta as { className?: string } | undefined)?.className}
              >
                {header.isPlaceholder ? null : flexRender(header.column.columnDef.header, header.getContext())}
              </th>
            ))}
          </tr>
        ))}
      </thead>
      <tbody>
        {table.getRowModel().rows.map((row) => (
          <tr key={row.id} data-row={row.id}>
            {row.getVisibleCells().map((cell) => (
              <td
                key={cell.id}
                data-column={cell.column.id}
                className={(cell.column.columnDef.meta as { className?: string } | undefined)?.className}
              >
                {flexRender(cell.column.columnDef.cell, cell.getContext())}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export const numberColumn = { meta: { className: 'number' } };
