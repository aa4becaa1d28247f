// The dashboard and portal: routes, each page loaded when first visited so the first page stays small.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClientProvider } from '@tanstack/react-query';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { queryClient } from './api.ts';
import { AuthPages } from './pages/auth.tsx';
import './styles.css';

const page = (load: () => Promise<{ default: React.ComponentType }>) => async () => ({
  Component: (await load()).default,
});

const router = createBrowserRouter([
  { path: '/', element: <Navigate to="/dashboard" replace /> },
  { path: '/signup', element: <AuthPages.Signup /> },
  { path: '/login', element: <AuthPages.Login /> },
  { path: '/verify-email', element: <AuthPages.VerifyEmail /> },
  { path: '/reset-password', element: <AuthPages.ResetPassword /> },
  { path: '/portal', lazy: page(() => import('./pages/Portal.tsx')) },
  { path: '/portal/payment-method', lazy: page(() => import('./pages/Portal.tsx')) },
  {
    path: '/dashboard',
    lazy: page(() => import('./layout.tsx')),
    children: [
      { index: true, element: <Navigate to="/dashboard/start" replace /> },
      { path: 'start', lazy: page(() => import('./pages/FirstRun.tsx')) },
      { path: 'customers', lazy: page(() => import('./pages/Customers.tsx')) },
      { path: 'customers/:id', lazy: page(() => import('./pages/Customer.tsx')) },
      { path: 'invoices', lazy: page(() => import('./pages/Invoices.tsx')) },
      { path: 'invoices/:id', lazy: page(() => import('./pages/Invoice.tsx')) },
      { path: 'plans', lazy: page(() => import('./pages/Plans.tsx')) },
      { path: 'plans/:code', lazy: page(() => import('./pages/Plan.tsx')) },
      { path: 'price-books', lazy: page(() => import('./pages/PriceBooks.tsx')) },
      { path: 'price-books/:code', lazy: page(() => import('./pages/PriceBook.tsx')) },
      { path: 'team', lazy: page(() => import('./pages/Team.tsx')) },
      { path: 'api-keys', lazy: page(() => import('./pages/ApiKeys.tsx')) },
      { path: 'audit', lazy: page(() => import('./pages/Audit.tsx')) },
      { path: 'webhooks', lazy: page(() => import('./pages/Webhooks.tsx')) },
      { path: 'brand', lazy: page(() => import('./pages/Brand.tsx')) },
      { path: 'settings', lazy: page(() => import('./pages/Settings.tsx')) },
    ],
  },
  { path: '*', element: <NotFound /> },
]);

function NotFound() {
  return (
    <main className="narrow">
      <h1>Page not found</h1>
      <p>
        <a href="/dashboard">Go to the dashboard</a>
      </p>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
