// Stripe's error objects and the HTTP status each kind travels with (https://docs.stripe.com/api/errors).
import type { StripeObject } from './store.ts';

export type StripeErrorType =
  'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error' | 'authentication_error';

export interface StripeErrorBody {
  type: StripeErrorType;
  code?: string;
  message: string;
  param?: string;
  decline_code?: string;
  doc_url?: string;
  payment_intent?: StripeObject;
  setup_intent?: StripeObject;
  charge?: string;
  payment_method?: StripeObject;
}

/** Thrown by a handler; the server answers `{ error: body }` with `status`. */
export class StripeApiError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;
  /** Whether the response may be stored for idempotent replay: Stripe saves results once the endpoint ran. */
  readonly executed: boolean;

  constructor(status: number, body: StripeErrorBody, options: { executed?: boolean } = {}) {
    super(body.message);
    this.status = status;
    this.body = {
      ...body,
      ...(body.code ? { doc_url: `https://stripe.com/docs/error-codes/${body.code.replace(/_/g, '-')}` } : {}),
    };
    this.executed = options.executed ?? false;
  }
}

export function invalidRequest(
  message: string,
  options: { param?: string; code?: string; status?: number } = {},
): StripeApiError {
  return new StripeApiError(options.status ?? 400, {
    type: 'invalid_request_error',
    message,
    code: options.code,
    param: options.param,
  });
}

export function missingParam(param: string): StripeApiError {
  return invalidRequest(`Missing required param: ${param}.`, { param, code: 'parameter_missing' });
}

/** A value Stripe rejects; `code` only where Stripe names one (parameter_invalid_integer, ...), as Stripe does. */
export function invalidParam(param: string, message: string, code?: string): StripeApiError {
  return invalidRequest(message, { param, code });
}

export function noSuchObject(kind: string, id: string, param = 'id'): StripeApiError {
  return invalidRequest(`No such ${kind}: '${id}'`, { param, code: 'resource_missing', status: 404 });
}

export function unknownParam(param: string): StripeApiError {
  return invalidRequest(`Received unknown parameter: ${param}`, { param, code: 'parameter_unknown' });
}
