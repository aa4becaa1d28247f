// The tenant's settings: the Stripe connection (a restricted key and the webhook's signing secret, sealed on the
// server and never shown back), the tax profile as the tax domain keeps it, and the dunning schedule. Each section
// is shown to the roles that may read it, with its form only to those that may change it.
import { useEffect } from 'react';
import { useForm } from 'react-hook-form';
import { api, errorInfo, useApiMutation, useApiQuery } from '../api.ts';
import { useCan, useMe } from '../layout.tsx';
import { ErrorBanner, Loading, Notice, TextField, formatInstant, useServerErrors } from '../ui.tsx';
import {
  RegistrationRows,
  fromApiRegistrations,
  toApiRegistrations,
  type RegistrationRow,
} from '../TaxRegistrations.tsx';

export default function Settings() {
  const can = useCan();
  return (
    <>
      <h1>Settings</h1>
      {can.manage ? <Stripe /> : null}
      <Tax canEdit={can.bill} />
      <Dunning canEdit={can.manage} />
    </>
  );
}

interface StripeForm {
  secret_key: string;
  webhook_secret: string;
}

function Stripe() {
  const me = useMe();
  const connection = useApiQuery('payments.connection', undefined, () => api.payments.connection.query());
  const form = useForm<StripeForm>({ defaultValues: { secret_key: '', webhook_secret: '' } });
  // The secrets leave the form as soon as the server has them.
  const connect = useApiMutation((values: StripeForm) => api.payments.connect.mutate(values), ['payments.connection']);
  const disconnect = useApiMutation(() => api.payments.disconnect.mutate(), ['payments.connection']);
  useServerErrors(form, connect.error);
  const c = connection.data;
  const endpoint = me.data ? `${location.origin}/v1/stripe/events/${me.data.tenant.slug}` : '';
  return (
    <section className="card" aria-labelledby="stripe-title">
      <h2 id="stripe-title">Stripe</h2>
      {connection.isPending ? <Loading /> : null}
      <ErrorBanner error={connection.error} />
      {c ? (
        <p data-testid="stripe-status">
          {c.connected ? (
            <>
              Connected ({c.mode} mode), key ending <code>{c.key_last4}</code>, since {formatInstant(c.connected_at)}.
            </>
          ) : (
            'Not connected: invoices are not collected by card.'
          )}
        </p>
      ) : null}
      <p className="muted">
        In Stripe, add a webhook endpoint at <code>{endpoint}</code> and paste its signing secret here with a restricted
        key (write access to customers, Checkout sessions, SetupIntents and PaymentIntents).
      </p>
      <form
        onSubmit={form.handleSubmit((values) => connect.mutate(values, { onSuccess: () => form.reset() }))}
        noValidate
        aria-label="Connect Stripe"
      >
        <TextField
          form={form}
          name="secret_key"
          label="Restricted key"
          type="password"
          autoComplete="off"
          required
          hint="rk_live_… or rk_test_…"
        />
        <TextField
          form={form}
          name="webhook_secret"
          label="Webhook signing secret"
          type="password"
          autoComplete="off"
          required
          hint="whsec_…"
        />
        <ErrorBanner error={connect.error} />
        <div className="toolbar">
          <button type="submit" disabled={connect.isPending}>
            {c?.connected ? 'Replace the connection' : 'Connect Stripe'}
          </button>
          {c?.connected ? (
            <button
              type="button"
              className="danger"
              onClick={() => disconnect.mutate(undefined)}
              disabled={disconnect.isPending}
            >
              Disconnect
            </button>
          ) : null}
        </div>
      </form>
      <ErrorBanner error={disconnect.error} />
      {connect.isSuccess ? (
        <Notice>Stripe is connected: the key and secret are sealed and will not be shown again.</Notice>
      ) : null}
    </section>
  );
}

interface TaxForm {
  legal_name: string;
  address: string;
  country: string;
  region: string;
  prices_include_tax: boolean;
  stripe_tax: boolean;
  payment_terms_days: string;
  registrations: RegistrationRow[];
}

const emptyTax: TaxForm = {
  legal_name: '',
  address: '',
  country: '',
  region: '',
  prices_include_tax: false,
  stripe_tax: false,
  payment_terms_days: '30',
  registrations: [],
};

function Tax({ canEdit }: { canEdit: boolean }) {
  const settings = useApiQuery('tax.settings', undefined, () => api.tax.settings.query(), { retry: false });
  const none = errorInfo(settings.error)?.code === 'tax_settings_not_found';
  const form = useForm<TaxForm>({ defaultValues: emptyTax });
  useEffect(() => {
    const s = settings.data;
    if (s)
      form.reset({
        legal_name: s.legal_name,
        address: s.address,
        country: s.country,
        region: s.region ?? '',
        prices_include_tax: s.prices_include_tax,
        stripe_tax: s.stripe_tax,
        payment_terms_days: String(s.payment_terms_days),
        registrations: fromApiRegistrations(s.registrations),
      });
  }, [settings.data, form]);
  const save = useApiMutation(
    (values: TaxForm) =>
      api.tax.updateSettings.mutate({
        legal_name: values.legal_name,
        address: values.address,
        country: values.country.trim(),
        region: values.region.trim() || null,
        prices_include_tax: values.prices_include_tax,
        stripe_tax: values.stripe_tax,
        payment_terms_days: Number(values.payment_terms_days),
        registrations: toApiRegistrations(values.registrations),
      }),
    ['tax.settings'],
  );
  useServerErrors(form, save.error);
  const s = settings.data;
  return (
    <section className="card" aria-labelledby="tax-title">
      <h2 id="tax-title">Tax</h2>
      {settings.isPending ? <Loading /> : null}
      {none ? (
        <p data-testid="tax-status">No tax settings: invoices charge no tax.</p>
      ) : (
        <ErrorBanner error={settings.error} />
      )}
      {s ? (
        <p data-testid="tax-status">
          {s.legal_name}, {s.country}
          {s.region ? `-${s.region}` : ''}: registered in{' '}
          {s.registrations.map((r) => r.jurisdiction).join(', ') || 'no jurisdiction'}; prices{' '}
          {s.prices_include_tax ? 'include' : 'exclude'} tax; payment within {s.payment_terms_days} days. Updated{' '}
          {formatInstant(s.updated_at)}.
        </p>
      ) : null}
      {canEdit ? (
        <form onSubmit={form.handleSubmit((values) => save.mutate(values))} noValidate aria-label="Tax settings">
          <TextField form={form} name="legal_name" label="Legal name" required />
          <div className="field">
            <label htmlFor="tax-address">Address (as printed on invoices)</label>
            <textarea
              id="tax-address"
              rows={3}
              {...form.register('address', { required: 'required' })}
              aria-invalid={form.formState.errors.address ? true : undefined}
            />
            {form.formState.errors.address ? (
              <small className="field-error" data-field="address">
                {form.formState.errors.address.message}
              </small>
            ) : null}
          </div>
          <div className="grid2">
            <TextField form={form} name="country" label="Country (ISO code)" required hint="e.g. DE" />
            <TextField form={form} name="region" label="Region" hint="e.g. ON; blank: none." />
          </div>
          <TextField form={form} name="payment_terms_days" label="Payment terms (days)" type="number" />
          <label className="inline-label">
            <input type="checkbox" {...form.register('prices_include_tax')} /> Prices include tax
          </label>{' '}
          <label className="inline-label">
            <input type="checkbox" {...form.register('stripe_tax')} /> US sales tax by Stripe Tax
          </label>
          {form.formState.errors.stripe_tax ? (
            <p className="field-error" data-field="stripe_tax">
              {form.formState.errors.stripe_tax.message}
            </p>
          ) : null}
          <h3>Registrations</h3>
          <RegistrationRows form={form} name="registrations" hint="DE, GB, CA-QC, EU (OSS), US (Stripe Tax)" />
          <ErrorBanner error={save.error} />
          <button type="submit" disabled={save.isPending}>
            Save tax settings
          </button>
        </form>
      ) : null}
    </section>
  );
}

interface DunningForm {
  retry_after_days: string;
  block_after_days: string;
}

function Dunning({ canEdit }: { canEdit: boolean }) {
  const policy = useApiQuery('payments.dunningPolicy', undefined, () => api.payments.dunningPolicy.query());
  const form = useForm<DunningForm>({ defaultValues: { retry_after_days: '', block_after_days: '' } });
  useEffect(() => {
    if (policy.data)
      form.reset({
        retry_after_days: policy.data.retry_after_days.join(', '),
        block_after_days: policy.data.block_after_days === null ? '' : String(policy.data.block_after_days),
      });
  }, [policy.data, form]);
  const save = useApiMutation(
    (values: DunningForm) =>
      api.payments.setDunningPolicy.mutate({
        retry_after_days: values.retry_after_days
          .split(',')
          .map((d) => d.trim())
          .filter(Boolean)
          .map(Number),
        block_after_days: values.block_after_days.trim() === '' ? null : Number(values.block_after_days),
      }),
    ['payments.dunningPolicy'],
  );
  // The schedule's problems name its items (retry_after_days.2): they belong to the one field.
  useEffect(() => {
    for (const problem of errorInfo(save.error)?.fields ?? []) {
      const field = problem.field.startsWith('retry_after_days')
        ? 'retry_after_days'
        : problem.field === 'block_after_days'
          ? 'block_after_days'
          : undefined;
      if (field) form.setError(field, { type: 'server', message: problem.reason });
    }
  }, [save.error, form]);
  const p = policy.data;
  return (
    <section className="card" aria-labelledby="dunning-title">
      <h2 id="dunning-title">Dunning</h2>
      {policy.isPending ? <Loading /> : null}
      <ErrorBanner error={policy.error} />
      {p ? (
        <p data-testid="dunning-status">
          After a failed payment, retries{' '}
          {p.retry_after_days.length ? `${p.retry_after_days.join(', ')} days after it` : 'never'}; the customer's usage
          is{' '}
          {p.block_after_days === null ? 'never blocked' : `blocked ${p.block_after_days} days after it while unpaid`}.
        </p>
      ) : null}
      {canEdit ? (
        <form onSubmit={form.handleSubmit((values) => save.mutate(values))} noValidate aria-label="Dunning schedule">
          <TextField
            form={form}
            name="retry_after_days"
            label="Retry after (days, ascending, comma-separated)"
            hint="e.g. 1, 3, 5, 7; blank: no retry."
          />
          <TextField form={form} name="block_after_days" label="Block usage after (days)" hint="Blank: never." />
          <ErrorBanner error={save.error} />
          <button type="submit" disabled={save.isPending}>
            Save dunning schedule
          </button>
        </form>
      ) : null}
      {save.isSuccess ? (
        <Notice>Saved: invoices already failing keep their dates and follow it from their next failure.</Notice>
      ) : null}
    </section>
  );
}
