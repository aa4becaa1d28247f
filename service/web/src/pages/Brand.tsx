// The brand the customer portal shows: the tenant's own, or a reseller's for its end users.
import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { ErrorBanner, Notice, TextField, useServerErrors } from '../ui.tsx';

interface BrandForm {
  display_name: string;
  logo_url: string;
  accent_color: string;
}

export default function Brand() {
  const [reseller, setReseller] = useState('');
  const input = reseller ? { customer_id: reseller } : {};
  const brand = useApiQuery('portal.brand', input, () => api.portal.brand.query(input), { retry: false });
  const form = useForm<BrandForm>({ defaultValues: { display_name: '', logo_url: '', accent_color: '' } });
  // The saved brand fills the form when it arrives, but never over what the user has started typing (read in
  // render so that react-hook-form tracks the dirty fields that keepDirtyValues keeps).
  void form.formState.dirtyFields;
  useEffect(() => {
    if (brand.data)
      form.reset(
        {
          display_name: brand.data.display_name ?? '',
          logo_url: brand.data.logo_url ?? '',
          accent_color: brand.data.accent_color ?? '',
        },
        { keepDirtyValues: true },
      );
  }, [brand.data, form]);
  const save = useApiMutation(
    (values: BrandForm) =>
      api.portal.setBrand.mutate({
        ...(reseller ? { customer_id: reseller } : {}),
        display_name: values.display_name || null,
        logo_url: values.logo_url || null,
        accent_color: values.accent_color || null,
      }),
    ['portal.brand'],
  );
  useServerErrors(form, save.error);
  const choose = useForm({ defaultValues: { reseller: '' } });
  return (
    <>
      <h1>Portal brand</h1>
      <form className="toolbar" onSubmit={choose.handleSubmit((values) => setReseller(values.reseller.trim()))}>
        <TextField form={choose} name="reseller" label="Reseller (customer id; blank: your own brand)" />
        <button type="submit" className="secondary">
          Edit
        </button>
      </form>
      <ErrorBanner error={brand.error} />
      <section className="card" aria-labelledby="brand-title">
        <h2 id="brand-title">{reseller ? `Brand of ${reseller}'s end users` : 'Your brand'}</h2>
        <form onSubmit={form.handleSubmit((values) => save.mutate(values))} noValidate>
          <TextField form={form} name="display_name" label="Display name" />
          <TextField form={form} name="logo_url" label="Logo URL (https)" />
          <TextField form={form} name="accent_color" label="Accent colour (#rrggbb)" />
          <ErrorBanner error={save.error} />
          <button type="submit" disabled={save.isPending}>
            Save brand
          </button>
        </form>
        {save.isSuccess ? <Notice>Saved: portal links show it from now on.</Notice> : null}
      </section>
    </>
  );
}
