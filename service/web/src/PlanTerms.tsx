// A plan's usage terms as form fields, shared by the plan form and a subscription's amendment: included allowances
// (one row per pool), progressive-billing thresholds, and how the server's field paths land on these fields.
import { get, useFieldArray, type ArrayPath, type FieldArray, type Path, type UseFormReturn } from 'react-hook-form';
import { TextField } from './ui.tsx';

export interface AllowanceRow {
  pool: string;
  quantity: string;
}

export interface WithAllowances {
  allowances: AllowanceRow[];
}

/** The API's `allowances` record from the rows (blank rows left out). */
export function allowancesOf(rows: AllowanceRow[]): Record<string, string> {
  return Object.fromEntries(
    rows.filter((row) => row.pool.trim() !== '').map((row) => [row.pool.trim(), row.quantity.trim()]),
  );
}

/** The API's thresholds from one comma-separated field. */
export function thresholdsOf(text: string): string[] {
  return text
    .split(',')
    .map((amount) => amount.trim())
    .filter(Boolean);
}

/**
 * The server names an allowance by its pool (`allowances.tokens`: the pool or its quantity) and a threshold by its
 * index (`progressive_thresholds.1`): the first lands on that pool's row, the second on the one thresholds field.
 */
export function planTermsField(rows: AllowanceRow[]) {
  return (field: string): string => {
    if (field.startsWith('progressive_thresholds')) return 'progressive_thresholds';
    if (!field.startsWith('allowances')) return field;
    const pool = field.slice('allowances.'.length);
    const index = rows.findIndex((row) => row.pool.trim() === pool);
    return index >= 0 ? `allowances.${index}` : 'allowances';
  };
}

export function AllowanceRows<T extends WithAllowances>({ form, hint }: { form: UseFormReturn<T>; hint: string }) {
  const rows = useFieldArray({ control: form.control, name: 'allowances' as ArrayPath<T> });
  const whole = get(form.formState.errors, 'allowances') as { message?: string } | undefined;
  return (
    <fieldset className="rows">
      <legend>Included allowances</legend>
      <p className="muted">{hint}</p>
      {rows.fields.map((field, index) => (
        <div key={field.id} className="toolbar" data-allowance={index}>
          <TextField
            form={form}
            name={`allowances.${index}.pool` as Path<T>}
            label={`Allowance pool ${index + 1}`}
            required
          />
          <TextField
            form={form}
            name={`allowances.${index}.quantity` as Path<T>}
            label={`Included quantity ${index + 1}`}
            required
            hint="Units per period, up to 6 decimals."
          />
          <button type="button" className="secondary" onClick={() => rows.remove(index)}>
            Remove allowance {index + 1}
          </button>
          <RowError
            message={(get(form.formState.errors, `allowances.${index}`) as { message?: unknown } | undefined)?.message}
            field={`allowances.${index}`}
          />
        </div>
      ))}
      <RowError message={whole?.message} field="allowances" />
      <p>
        <button
          type="button"
          className="secondary"
          onClick={() => rows.append({ pool: '', quantity: '' } as FieldArray<T, ArrayPath<T>>)}
        >
          Add an allowance
        </button>
      </p>
    </fieldset>
  );
}

/** A problem the server reports for a whole row (or list), not one of its inputs. */
function RowError({ message, field }: { message: unknown; field: string }) {
  if (typeof message !== 'string') return null;
  return (
    <small className="field-error" data-field={field} role="alert">
      {message}
    </small>
  );
}
