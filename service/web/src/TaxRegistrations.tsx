// Where a seller collects tax, as rows of jurisdiction and tax id: the tenant's tax settings and a reseller's brand
// edit them alike, and send them as the API takes them (a blank tax id: none). A reseller's brand edits the tax ids
// printed on its invoices with the same rows under other labels.
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

/** What the rows are called: a row's fields are "<jurisdiction> n" and "<taxId> n", its buttons name `noun`. */
export interface RowLabels {
  jurisdiction: string;
  taxId: string;
  noun: string;
}

const registrationLabels: RowLabels = { jurisdiction: 'Jurisdiction', taxId: 'Tax id', noun: 'registration' };

/** The rows of `name` (an array of RegistrationRow in the form), each with its server errors at its fields. */
export function RegistrationRows<T extends FieldValues>({
  form,
  name,
  hint,
  labels = registrationLabels,
  taxIdRequired = false,
}: {
  form: UseFormReturn<T>;
  name: ArrayPath<T>;
  hint: string;
  labels?: RowLabels;
  taxIdRequired?: boolean;
}) {
  const rows = useFieldArray({ control: form.control, name });
  return (
    <>
      {rows.fields.map((field, index) => (
        <div key={field.id} className="toolbar" data-registration={index}>
          <TextField
            form={form}
            name={`${name}.${index}.jurisdiction` as Path<T>}
            label={`${labels.jurisdiction} ${index + 1}`}
            required
            hint={hint}
          />
          <TextField
            form={form}
            name={`${name}.${index}.tax_id` as Path<T>}
            label={`${labels.taxId} ${index + 1}`}
            required={taxIdRequired}
          />
          <button type="button" className="secondary" onClick={() => rows.remove(index)}>
            Remove {labels.noun} {index + 1}
          </button>
        </div>
      ))}
      <p>
        <button
          type="button"
          className="secondary"
          onClick={() => rows.append({ jurisdiction: '', tax_id: '' } as FieldArray<T, ArrayPath<T>>)}
        >
          Add a {labels.noun}
        </button>
      </p>
    </>
  );
}
