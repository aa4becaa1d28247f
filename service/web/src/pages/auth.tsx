// The public pages: signup (with the email verification step), login, email verification, password reset.
import { useEffect, useRef, type ReactNode } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, queryClient, useApiMutation } from '../api.ts';
import { ErrorBanner, Notice, TextField, useServerErrors } from '../ui.tsx';

function Frame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="narrow">
      <p className="brand">Tariff</p>
      <h1>{title}</h1>
      {children}
    </main>
  );
}

function Signup() {
  const form = useForm({ defaultValues: { tenant_name: '', email: '', password: '', name: '' } });
  const signup = useApiMutation((input: { tenant_name: string; email: string; password: string; name?: string }) =>
    api.auth.signup.mutate(input),
  );
  useServerErrors(form, signup.error);
  const navigate = useNavigate();
  if (signup.data) {
    const { tenant, user } = signup.data;
    return (
      <Frame title="Check your email">
        <Notice>
          We sent a link to <strong>{user.email}</strong> to confirm it. Your tenant <strong>{tenant.name}</strong> logs
          in as <code data-testid="tenant-slug">{tenant.slug}</code>.
        </Notice>
        <p>You can start now and confirm the email later.</p>
        <button
          type="button"
          onClick={() => {
            queryClient.clear();
            navigate('/dashboard/start');
          }}
        >
          Continue to your first API key
        </button>
      </Frame>
    );
  }
  return (
    <Frame title="Create your Tariff account">
      <form
        onSubmit={form.handleSubmit((values) => signup.mutate({ ...values, name: values.name || undefined }))}
        noValidate
      >
        <TextField form={form} name="tenant_name" label="Company (tenant) name" required autoComplete="organization" />
        <TextField form={form} name="name" label="Your name" autoComplete="name" />
        <TextField form={form} name="email" label="Work email" type="email" required autoComplete="email" />
        <TextField
          form={form}
          name="password"
          label="Password"
          type="password"
          required
          minLength={12}
          hint="At least 12 characters."
          autoComplete="new-password"
        />
        <ErrorBanner error={signup.error} />
        <button type="submit" disabled={signup.isPending}>
          Create account
        </button>
      </form>
      <p>
        Already have an account? <Link to="/login">Log in</Link>
      </p>
    </Frame>
  );
}

function Login() {
  const [params] = useSearchParams();
  const form = useForm({ defaultValues: { tenant: params.get('tenant') ?? '', email: '', password: '' } });
  const navigate = useNavigate();
  const login = useApiMutation((input: { tenant: string; email: string; password: string }) =>
    api.auth.login.mutate(input),
  );
  useServerErrors(form, login.error);
  const next = params.get('next');
  return (
    <Frame title="Log in">
      <form
        onSubmit={form.handleSubmit((values) =>
          login.mutate(values, {
            onSuccess: () => {
              queryClient.clear();
              navigate(next?.startsWith('/dashboard') ? next : '/dashboard/customers');
            },
          }),
        )}
        noValidate
      >
        <TextField
          form={form}
          name="tenant"
          label="Tenant"
          required
          hint="The login name shown at signup, e.g. acme-ai."
          autoComplete="organization"
        />
        <TextField form={form} name="email" label="Email" type="email" required autoComplete="email" />
        <TextField
          form={form}
          name="password"
          label="Password"
          type="password"
          required
          autoComplete="current-password"
        />
        <ErrorBanner error={login.error} />
        <button type="submit" disabled={login.isPending}>
          Log in
        </button>
      </form>
      <p>
        <Link to="/reset-password">Forgot your password?</Link> · <Link to="/signup">Create an account</Link>
      </p>
    </Frame>
  );
}

function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const verify = useApiMutation((input: { token: string }) => api.auth.verifyEmail.mutate(input));
  // A token works once: send it once, even when React runs the effect twice.
  const sent = useRef(false);
  useEffect(() => {
    if (!token || sent.current) return;
    sent.current = true;
    verify.mutate({ token });
  }, [token, verify]);
  return (
    <Frame title="Confirm your email">
      {!token ? <p>Open the link from the email we sent you.</p> : null}
      {verify.isPending ? <p>Confirming…</p> : null}
      {verify.data ? (
        <Notice>
          <span data-testid="verified-email">{verify.data.email}</span> is confirmed.{' '}
          <Link to="/dashboard/start">Go to the dashboard</Link>
        </Notice>
      ) : null}
      <ErrorBanner error={verify.error} />
    </Frame>
  );
}

function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get('token');
  return token ? <ChooseNewPassword token={token} /> : <RequestReset />;
}

function RequestReset() {
  const form = useForm({ defaultValues: { tenant: '', email: '' } });
  const request = useApiMutation((input: { tenant: string; email: string }) =>
    api.auth.requestPasswordReset.mutate(input),
  );
  useServerErrors(form, request.error);
  return (
    <Frame title="Reset your password">
      {request.data ? (
        <Notice>
          If that account exists, we sent it a link to choose a new password. The link works for one hour.
        </Notice>
      ) : (
        <form onSubmit={form.handleSubmit((values) => request.mutate(values))} noValidate>
          <TextField form={form} name="tenant" label="Tenant" required />
          <TextField form={form} name="email" label="Email" type="email" required autoComplete="email" />
          <ErrorBanner error={request.error} />
          <button type="submit" disabled={request.isPending}>
            Send the link
          </button>
        </form>
      )}
      <p>
        <Link to="/login">Back to login</Link>
      </p>
    </Frame>
  );
}

function ChooseNewPassword({ token }: { token: string }) {
  const form = useForm({ defaultValues: { password: '' } });
  const reset = useApiMutation((input: { token: string; password: string }) => api.auth.resetPassword.mutate(input));
  useServerErrors(form, reset.error);
  return (
    <Frame title="Choose a new password">
      {reset.data ? (
        <Notice>
          Your password is changed and your other sessions are logged out. <Link to="/login">Log in</Link>
        </Notice>
      ) : (
        <form onSubmit={form.handleSubmit((values) => reset.mutate({ token, password: values.password }))} noValidate>
          <TextField
            form={form}
            name="password"
            label="New password"
            type="password"
            required
            minLength={12}
            autoComplete="new-password"
          />
          <ErrorBanner error={reset.error} />
          <button type="submit" disabled={reset.isPending}>
            Set the password
          </button>
        </form>
      )}
    </Frame>
  );
}

export const AuthPages = { Signup, Login, VerifyEmail, ResetPassword };
