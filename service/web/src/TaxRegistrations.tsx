// Where a seller collects tax, as rows of jurisdiction and tax id: the tenant's tax settings and a reseller's brand
// edit them alike, and send them as the API takes them (a blank tax id: none).
import {
  useFieldArray,
  type ArrayPath,
  type FieldArray,
  type FieldValues,
  type Path,
  type UseFormReturn,
} from 'react-hook-form';
import { TextField } from './ui.tsx';

export interface RegistrationRow {
  jurisdiction: string;
  tax_id: string;
}

export const fromApiRegistrations = (rows: { jurisdiction: string; tax_id: string | null }[]): RegistrationRow[] =>
  rows.map((r) => ({ jurisdiction: r.jurisdiction, tax_id: r.tax_id ?? '' }));

export const toApiRegistrations = (rows: RegistrationRow[]) =>
  rows.map((r) => ({ jurisdiction: r.jurisdiction.trim(), tax_id: r.tax_id.trim() || null }));

/** The rows of `name` (an array of RegistrationRow in the form), each with its server errors at its fields. */
export function RegistrationRows<T extends FieldValues>({
  form,
  name,
  hint,
}: {
  form: UseFormReturn<T>;
  name: ArrayPath<T>;
  hint: string;
}) {
  const rows = useFieldArray({ control: form.control, name });
  return (
    <>
      {rows.fields.map((field, index) => (
        <div key={field.id} className="toolbar" data-registration={index}>
          <TextField
            form={form}
            name={`${name}.${index}.jurisdiction` as Path<T>}
            label={`Jurisdiction ${index + 1}`}
            required
            hint={hint}
          />
          <TextField form={form} name={`${name}.${index}.tax_id` as Path<T>} label={`Tax id ${index + 1}`} />
          <button type="button" className="secondary" onClick={() => rows.remove(index)}>
            Remove registration {index + 1}
          </button>
        </div>
      ))}
      <p>
        <button
          type="button"
          className="secondary"
          onClick={() => rows.append({ jurisdiction: '', tax_id: '' } as FieldArray<T, ArrayPath<T>>)}
        >
          Add a registration
        </button>
      </p>
    </>
  );
}
