// Small shared pieces: form fields tied to react-hook-form and to the server's field errors, banners, tables.
import { useEffect, useId, type BaseSyntheticEvent, type ReactNode } from 'react';
import { get, type FieldValues, type Path, type SubmitHandler, type UseFormReturn } from 'react-hook-form';
import { errorInfo } from './api.ts';
import { toMinorUnit } from './money.ts';

export function ErrorBanner({ error }: { error: unknown }) {
  const info = errorInfo(error);
  if (!info) return null;
  return (
    <div role="alert" className="banner error">
      {info.message}
      {info.code ? <span className="muted"> ({info.code})</span> : null}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <div role="status" className="banner notice">
      {children}
    </div>
  );
}

/**
 * Puts the server's field errors on the form's fields (a dotted path, as the service names them, less `prefix`;
 * `rename` maps a path whose form field is named otherwise); problems with no field on the form stay in the banner.
 */
export function useServerErrors<T extends FieldValues>(
  form: UseFormReturn<T>,
  error: unknown,
  prefix = '',
  rename: (field: string) => string = (field) => field,
) {
  useEffect(() => {
    for (const problem of errorInfo(error)?.fields ?? []) {
      const name = prefix && problem.field.startsWith(prefix) ? problem.field.slice(prefix.length) : problem.field;
      form.setError(rename(name) as Path<T>, { type: 'server', message: problem.reason });
    }
    // `rename` is read when the error arrives; a new function each render must not set the errors again.
  }, [error, form, prefix]);
}

/**
 * handleSubmit that first forgets the server's last errors: one set on a row or a list (not an input) is never
 * cleared by validating the inputs, and would block every later submit.
 */
export function submitAfresh<T extends FieldValues>(form: UseFormReturn<T>, onValid: SubmitHandler<T>) {
  return (event?: BaseSyntheticEvent) => {
    form.clearErrors();
    return form.handleSubmit(onValid)(event);
  };
}

export function TextField<T extends FieldValues>({
  form,
  name,
  label,
  type = 'text',
  required = false,
  minLength,
  hint,
  autoComplete,
}: {
  form: UseFormReturn<T>;
  name: Path<T>;
  label: string;
  type?: string;
  required?: boolean;
  minLength?: number;
  hint?: string;
  autoComplete?: string;
}) {
  // Nested names (registrations.0.tax_id) are nested in the errors object.
  const error = get(form.formState.errors, name) as { message?: unknown } | undefined;
  // Two forms on a page may both have a `reason`: ids come from React, names from the form.
  const id = `field-${useId().replace(/\W/g, '')}-${String(name).replace(/\W/g, '-')}`;
  const message = typeof error?.message === 'string' ? error.message : error ? 'invalid' : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={type}
        autoComplete={autoComplete}
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? `${id}-error` : hint ? `${id}-hint` : undefined}
        {...form.register(name, {
          required: required ? 'required' : false,
          minLength: minLength ? { value: minLength, message: `at least ${minLength} characters` } : undefined,
        })}
      />
      {hint && !message ? (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      ) : null}
      {message ? (
        <small id={`${id}-error`} className="field-error" data-field={String(name)}>
          {message}
        </small>
      ) : null}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" aria-live="polite">
      {what}…
    </p>
  );
}

/** A decimal string of the API with its currency; shown exactly as the API answers it. */
export function Money({ amount, currency }: { amount: string | null | undefined; currency?: string | null }) {
  if (amount === null || amount === undefined) return <span className="muted">—</span>;
  return (
    <span className="money" data-amount={amount}>
      {amount}
      {currency ? ` ${currency}` : ''}
    </span>
  );
}

/** Money on an invoice: the API's string (kept in data-amount) shown to the currency's minor unit. */
export function InvoiceMoney({ amount, currency, minorUnit }: { amount: string; currency: string; minorUnit: number }) {
  return (
    <span className="money" data-amount={amount}>
      {toMinorUnit(amount, minorUnit)} {currency}
    </span>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  return (
    <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(text)}>
      {label}
    </button>
  );
}

export function formatInstant(value: string | null | undefined): string {
  if (!value) return '—';
  return value.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
}
