// The dashboard's one way to the server: a typed tRPC client over the session cookie, and TanStack Query hooks on it.
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import { QueryClient, useMutation, useQuery, useQueryClient, type UseQueryOptions } from '@tanstack/react-query';
import type { AppRouter } from '../../src/app.ts';

/** The name of the cookie the server sets beside the session, echoed in a header on every call (double submit). */
const csrfCookie = 'tariff_csrf';
const csrfHeader = 'x-csrf-token';

function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

export const api = createTRPCClient<AppRouter>({
  links: [
    httpBatchLink({
      url: '/trpc',
      // Long batches of GETs would outgrow a URL; the server takes them as POST-able mutations anyway.
      maxURLLength: 4000,
      headers: () => {
        const token = readCookie(csrfCookie);
        return token ? { [csrfHeader]: token } : {};
      },
      fetch: (url, options) => fetch(url, { ...(options as RequestInit), credentials: 'same-origin' }),
    }),
  ],
});

export type Api = typeof api;

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx will not change by asking again; a network blip might.
      retry: (count, error) =>
        count < 2 && !(error instanceof TRPCClientError && (error.data?.httpStatus ?? 500) < 500),
      refetchOnWindowFocus: false,
      staleTime: 5_000,
    },
  },
});

/** A field's problem as the server names it (AppError details: `field` is a dotted path into the input). */
export interface FieldProblem {
  field: string;
  reason: string;
}

export interface ApiErrorInfo {
  message: string;
  code?: string;
  httpStatus?: number;
  fields: FieldProblem[];
}

export function errorInfo(error: unknown): ApiErrorInfo | undefined {
  if (!error) return undefined;
  if (error instanceof TRPCClientError) {
    const data = error.data as { httpStatus?: number; app?: { code: string; details?: FieldProblem[] } } | undefined;
    return {
      message: error.message,
      code: data?.app?.code,
      httpStatus: data?.httpStatus,
      fields: data?.app?.details ?? [],
    };
  }
  return { message: error instanceof Error ? error.message : String(error), fields: [] };
}

export function isUnauthenticated(error: unknown): boolean {
  return error instanceof TRPCClientError && error.data?.httpStatus === 401;
}

/** useQuery keyed by the procedure's name and input, so mutations can invalidate by name. */
export function useApiQuery<T>(
  name: string,
  input: unknown,
  load: () => Promise<T>,
  options: Partial<UseQueryOptions<T>> = {},
) {
  return useQuery<T>({ queryKey: [name, input], queryFn: load, ...options });
}

/** useMutation that refreshes the queries it names once it succeeds. */
export function useApiMutation<I, O>(run: (input: I) => Promise<O>, invalidates: string[] = []) {
  const client = useQueryClient();
  return useMutation<O, unknown, I>({
    mutationFn: run,
    onSuccess: async () => {
      await Promise.all(invalidates.map((name) => client.invalidateQueries({ queryKey: [name] })));
    },
  });
}
