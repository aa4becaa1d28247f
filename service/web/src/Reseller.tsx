// A reseller's own pages on its customer page: its brand (what its end users' portal shows and the seller printed
// on their invoices) and its margins (what its children paid less what it paid its parent), as the API reports them.
import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { api, useApiMutation, useApiQuery } from './api.ts';
import { DataTable, numberColumn, type Columns } from './DataTable.tsx';
import { useCan } from './layout.tsx';
import {
  RegistrationRows,
  fromApiRegistrations,
  toApiRegistrations,
  type RegistrationRow,
} from './TaxRegistrations.tsx';
import { ErrorBanner, Loading, Money, Notice, TextField, submitAfresh, useServerErrors } from './ui.tsx';

type ResellerBrand = Awaited<ReturnType<typeof api.portal.resellerBrand.query>>;
type MarginReport = Awaited<ReturnType<typeof api.resellers.margins.query>>;
type MarginRow = MarginReport['data'][number];
type MarginGroup = NonNullable<MarginReport['group_by']>[number];

/** The brand's text fields, in the order the form shows them; blank clears. */
const brandFields = [
  ['display_name', 'Brand name'],
  ['logo_url', 'Logo URL (https)'],
  ['accent_color', 'Brand colour (#rrggbb)'],
  ['legal_name', 'Legal name (seller on invoices)'],
  ['address', 'Seller address'],
  ['country', 'Seller country (ISO code)'],
  ['currency', 'Currency of new end users (ISO code)'],
  ['reply_to', 'Reply-To email'],
  ['stripe_account', 'Stripe account (acct_…)'],
] as const satisfies readonly (readonly [keyof ResellerBrand, string])[];
type BrandFieldName = (typeof brandFields)[number][0];
type BrandForm = Record<BrandFieldName, string> & {
  invoice_prefix: string;
  region: string;
  prices_include_tax: boolean;
  tax_registrations: RegistrationRow[];
  /** The tax ids printed on its invoices (each row both fields). */
  tax_ids: RegistrationRow[];
  /** Not an input: where the server's problems with the uploaded logo are shown. */
  logo?: string;
};

function formOf(brand: ResellerBrand): BrandForm {
  const values = Object.fromEntries(brandFields.map(([name]) => [name, brand[name] ?? ''])) as Record<
    BrandFieldName,
    string
  >;
  return {
    ...values,
    invoice_prefix: brand.invoice_prefix ?? '',
    region: brand.region ?? '',
    prices_include_tax: brand.prices_include_tax ?? false,
    tax_registrations: fromApiRegistrations(brand.tax_registrations ?? []),
    tax_ids: fromApiRegistrations(brand.tax_ids ?? []),
  };
}

/** The logo to send: undefined keeps the stored one, null removes it, a file replaces it (as a data: URL). */
type LogoChange = undefined | null | { name: string; dataUrl: string };

function readDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

/** The tax ids' rows, labelled apart from the registrations' in the same form. */
const taxIdLabels = { jurisdiction: 'Country of tax number', taxId: 'Tax number', noun: 'tax number' };

export function ResellerPanel({ id }: { id: string }) {
  return (
    <>
      <ResellerBrandCard id={id} />
      <ResellerMargins id={id} />
    </>
  );
}

function ResellerBrandCard({ id }: { id: string }) {
  const brand = useApiQuery('portal.resellerBrand', { id }, () => api.portal.resellerBrand.query({ id }));
  const stored = useApiQuery('portal.resellerLogo', { id }, () => api.portal.resellerLogo.query({ id }));
  const can = useCan();
  const form = useForm<BrandForm>({ defaultValues: formOf({} as ResellerBrand) });
  const [logo, setLogo] = useState<LogoChange>();
  useEffect(() => {
    if (brand.data) form.reset(formOf(brand.data));
  }, [brand.data, form]);
  const save = useApiMutation(
    (values: BrandForm) =>
      api.portal.setResellerBrand.mutate({
        id,
        ...Object.fromEntries(brandFields.map(([name]) => [name, values[name].trim() || null])),
        ...(values.invoice_prefix.trim() ? { invoice_prefix: values.invoice_prefix.trim() } : {}),
        region: values.region.trim() || null,
        prices_include_tax: values.prices_include_tax,
        tax_registrations: toApiRegistrations(values.tax_registrations),
        tax_ids: values.tax_ids.map((r) => ({ jurisdiction: r.jurisdiction.trim(), tax_id: r.tax_id.trim() })),
        ...(logo === undefined ? {} : { logo: logo && logo.dataUrl }),
      }),
    ['portal.resellerBrand', 'portal.resellerLogo'],
  );
  useServerErrors(form, save.error);
  const b = brand.data;
  const logoError = form.formState.errors.logo?.message;
  return (
    <section className="card" aria-labelledby="reseller-brand-title">
      <h2 id="reseller-brand-title">Brand for its end users</h2>
      {brand.isPending ? <Loading /> : null}
      <ErrorBanner error={brand.error ?? stored.error} />
      {b ? (
        <dl className="facts" data-testid="reseller-brand">
          {brandFields.map(([name, label]) => (
            <BrandFact key={name} name={name} label={label} value={b[name]} />
          ))}
          <BrandFact name="invoice_prefix" label="Invoice prefix" value={b.invoice_prefix} />
          <BrandFact name="region" label="Seller region" value={b.region} />
          <BrandFact
            name="prices_include_tax"
            label="Prices"
            value={b.prices_include_tax ? 'include tax' : 'exclude tax'}
          />
          <dt>Tax ids</dt>
          <dd data-brand-field="tax_ids">
            {b.tax_ids.length ? b.tax_ids.map((t) => `${t.jurisdiction} ${t.tax_id}`).join(', ') : '—'}
          </dd>
          <dt>Collects tax in</dt>
          <dd data-brand-field="tax_registrations">
            {b.tax_registrations.length
              ? b.tax_registrations.map((r) => (r.tax_id ? `${r.jurisdiction} ${r.tax_id}` : r.jurisdiction)).join(', ')
              : 'nowhere: its invoices charge no tax'}
          </dd>
          <dt>Logo on invoices</dt>
          <dd data-brand-field="logo">
            {b.logo && stored.data ? (
              <>
                <img
                  className="logo-preview"
                  src={stored.data.data_url}
                  alt={`Logo of ${b.display_name ?? id}`}
                  data-testid="brand-logo"
                  data-digest={stored.data.digest}
                />{' '}
                <span className="muted">
                  {b.logo.media_type}, {b.logo.width}x{b.logo.height} px, {b.logo.bytes} bytes
                </span>
              </>
            ) : (
              '—'
            )}
          </dd>
        </dl>
      ) : null}
      {can.bill && b ? (
        <form
          onSubmit={submitAfresh(form, (values) => save.mutate(values, { onSuccess: () => setLogo(undefined) }))}
          aria-label="Edit the brand"
          noValidate
        >
          <div className="grid2">
            {brandFields.map(([name, label]) => (
              <TextField key={name} form={form} name={name} label={label} />
            ))}
            <TextField form={form} name="invoice_prefix" label="Invoice prefix" hint="Blank: keep." />
            <TextField form={form} name="region" label="Seller region" hint="e.g. QC; blank: none." />
          </div>
          <label className="inline-label">
            <input type="checkbox" {...form.register('prices_include_tax')} /> Its prices include tax
          </label>
          <div className="field">
            <label htmlFor={`brand-logo-${id}`}>Logo on invoices (PNG or JPEG, at most 256 KiB)</label>
            <input
              id={`brand-logo-${id}`}
              type="file"
              accept="image/png,image/jpeg"
              aria-invalid={logoError ? true : undefined}
              aria-describedby={logoError ? `brand-logo-${id}-error` : undefined}
              onChange={async (event) => {
                const file = event.target.files?.[0];
                form.clearErrors('logo');
                setLogo(file ? { name: file.name, dataUrl: await readDataUrl(file) } : undefined);
              }}
            />
            {logo ? (
              <p>
                <img className="logo-preview" src={logo.dataUrl} alt={`New logo ${logo.name} (not saved yet)`} />
              </p>
            ) : null}
            {logo === null ? <p className="muted">The logo is removed when you save.</p> : null}
            {b.logo || logo ? (
              <button type="button" className="secondary" onClick={() => setLogo(null)}>
                Remove the logo
              </button>
            ) : null}
            {typeof logoError === 'string' ? (
              <small id={`brand-logo-${id}-error`} className="field-error" data-field="logo">
                {logoError}
              </small>
            ) : null}
          </div>
          <fieldset>
            <legend>Where it collects tax</legend>
            <RegistrationRows form={form} name="tax_registrations" hint="DE, GB, CA-QC, EU (OSS)" />
          </fieldset>
          <fieldset>
            <legend>Tax numbers printed on its invoices</legend>
            <RegistrationRows form={form} name="tax_ids" hint="DE, GB, CA-QC" labels={taxIdLabels} taxIdRequired />
          </fieldset>
          <ErrorBanner error={save.error} />
          <button type="submit" disabled={save.isPending}>
            Save the brand
          </button>
          {save.isSuccess ? <Notice>Saved: its end users' portal shows it from now on.</Notice> : null}
        </form>
      ) : null}
    </section>
  );
}

function BrandFact({ name, label, value }: { name: string; label: string; value: string | null }) {
  return (
    <>
      <dt>{label}</dt>
      <dd data-brand-field={name}>{value ?? '—'}</dd>
    </>
  );
}

const groupLabels: Record<MarginGroup, string> = {
  level: 'Level (each reseller below)',
  reseller: 'Child sold to',
  end_user: 'End user',
  card: 'Rate card',
  day: 'Day',
};

const marginColumns: Columns<MarginRow> = [
  { header: 'Level', accessorKey: 'reseller_id' },
  { header: 'Child', accessorKey: 'child_id' },
  { header: 'End user', accessorKey: 'end_user_id' },
  { header: 'Card', accessorKey: 'card' },
  { header: 'Day', accessorKey: 'day' },
  { header: 'Events', accessorKey: 'events', ...numberColumn },
  ...(['resale', 'charge', 'margin'] as const).map((key) => ({
    header: { resale: 'Resale', charge: 'Paid to parent', margin: 'Margin' }[key],
    accessorKey: key,
    ...numberColumn,
    cell: ({ row }: { row: { original: MarginRow } }) => (
      <Money amount={row.original[key]} currency={row.original.currency} />
    ),
  })),
];

interface ReportForm {
  from: string;
  to: string;
  group_by: MarginGroup[];
}

/** This month so far, by the browser's calendar (UTC days, as the report counts them). */
function monthToDate(): { from: string; to: string } {
  const today = new Date().toISOString().slice(0, 10);
  return { from: `${today.slice(0, 8)}01`, to: today };
}

function ResellerMargins({ id }: { id: string }) {
  const form = useForm<ReportForm>({ defaultValues: { ...monthToDate(), group_by: [] } });
  const [asked, setAsked] = useState<ReportForm>();
  const input = asked ? { customer_id: id, ...asked } : undefined;
  const report = useApiQuery('resellers.margins', input, () => api.resellers.margins.query(input!), {
    enabled: input !== undefined,
    retry: false,
  });
  // The CSV is the API's text, offered as a file once prepared (one object URL per preparation).
  const csv = useApiMutation(async () => {
    const { csv: text } = await api.resellers.marginsCsv.query(input!);
    return URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  });
  useServerErrors(form, report.error);
  useServerErrors(form, csv.error);
  const shown = new Set<string>(['events', 'resale', 'charge', 'margin', ...columnsOf(asked?.group_by ?? [])]);
  const r = report.data;
  return (
    <section className="card" aria-labelledby="margins-title">
      <h2 id="margins-title">Margins</h2>
      <form
        className="toolbar"
        onSubmit={form.handleSubmit((values) => {
          csv.reset();
          setAsked({ ...values, group_by: values.group_by || [] });
        })}
        aria-label="Margin report"
        noValidate
      >
        <TextField form={form} name="from" label="From (UTC day)" required />
        <TextField form={form} name="to" label="To (UTC day, inclusive)" required />
        <fieldset className="inline">
          <legend>Group by</legend>
          {(Object.keys(groupLabels) as MarginGroup[]).map((group) => (
            <label key={group} className="inline-label">
              <input type="checkbox" value={group} {...form.register('group_by')} /> {groupLabels[group]}
            </label>
          ))}
        </fieldset>
        <button type="submit">Show margins</button>
      </form>
      {report.isFetching ? <Loading /> : null}
      <ErrorBanner error={report.error ?? csv.error} />
      {r ? (
        <>
          <DataTable
            label="Margins"
            data={r.data}
            columns={marginColumns.filter((c) => shown.has(String((c as { accessorKey?: string }).accessorKey)))}
            rowId={(row) => rowKey(row)}
            empty="Nothing resold in this range."
          />
          <p data-testid="margin-totals">
            {r.totals.map((t) => (
              <span key={t.currency} data-currency={t.currency} className="total">
                {t.currency}: {t.events} events, resale <Money amount={t.resale} currency={t.currency} />, paid{' '}
                <Money amount={t.charge} currency={t.currency} />, margin{' '}
                <strong>
                  <Money amount={t.margin} currency={t.currency} />
                </strong>
                .{' '}
              </span>
            ))}
          </p>
          <p>
            <button type="button" className="secondary" onClick={() => csv.mutate(undefined)} disabled={csv.isPending}>
              Prepare CSV
            </button>{' '}
            {csv.data ? (
              <a href={csv.data} download={`margins-${id}-${r.from}-${r.to}.csv`} data-testid="margins-csv">
                Download CSV
              </a>
            ) : null}
          </p>
        </>
      ) : null}
    </section>
  );
}

function columnsOf(groups: MarginGroup[]): string[] {
  const columns: Record<MarginGroup, string> = {
    level: 'reseller_id',
    reseller: 'child_id',
    end_user: 'end_user_id',
    card: 'card',
    day: 'day',
  };
  return groups.map((group) => columns[group]);
}

/** A row is one combination of its groups and currency. */
function rowKey(row: MarginRow): string {
  return [row.reseller_id, row.child_id, row.end_user_id, row.card, row.day, row.currency]
    .filter((v) => v !== undefined)
    .join('|');
}
