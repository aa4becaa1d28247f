// AppError, the one error type services raise, and the one mapping of it to HTTP and tRPC.
import type { ZodError } from 'zod';

export type ErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition'
  | 'rate_limited'
  | 'unavailable';

export interface FieldProblem {
  /** JSON path of the offending field, e.g. "metadata.plan" or "versions.1.effective_from". */
  field: string;
  reason: string;
}

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: FieldProblem[];
  /** For rate_limited: when to try again (the Retry-After header). */
  retryAfterSeconds?: number;

  constructor(kind: ErrorKind, code: string, message: string, details: FieldProblem[] = []) {
    super(message);
    this.name = 'AppError';
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}

export const notFound = (code: string, message: string) => new AppError('not_found', code, message);
export const conflict = (code: string, message: string, details: FieldProblem[] = []) =>
  new AppError('conflict', code, message, details);
export const forbidden = (code: string, message: string) => new AppError('forbidden', code, message);
export const invalid = (code: string, message: string, details: FieldProblem[] = []) =>
  new AppError('validation', code, message, details);
export const precondition = (code: string, message: string, details: FieldProblem[] = []) =>
  new AppError('precondition', code, message, details);

export function fromZodError(error: ZodError, prefix: string[] = []): AppError {
  const details = error.issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), reason: 'unknown field' }));
    // A record's key that failed its own schema: say why, not only "Invalid key in record".
    if (issue.code === 'invalid_key')
      return [{ field: path.join('.'), reason: `key ${issue.issues.map((inner) => inner.message).join('; ')}` }];
    return [{ field: path.join('.') || '(body)', reason: issue.message }];
  });
  return invalid(
    'invalid_request',
    `Invalid request: ${details.map((d) => `${d.field}: ${d.reason}`).join('; ')}`,
    details,
  );
}

const httpStatusByKind: Record<ErrorKind, number> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition: 422,
  rate_limited: 429,
  unavailable: 503,
};

// Transport-level validation failures that HTTP has its own status for.
const httpStatusByCode: Record<string, number> = {
  body_too_large: 413,
  unsupported_content_type: 415,
};

const trpcCodeByKind = {
  validation: 'BAD_REQUEST',
  unauthenticated: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  precondition: 'PRECONDITION_FAILED',
  rate_limited: 'TOO_MANY_REQUESTS',
  unavailable: 'SERVICE_UNAVAILABLE',
} as const satisfies Record<ErrorKind, string>;

export interface ErrorBody {
  error: { kind: ErrorKind | 'internal'; code: string; message: string; details: FieldProblem[]; request_id?: string };
}

/** The HTTP status and body for any thrown value; unknown errors become an opaque 500. */
export function toHttpError(error: unknown, requestId?: string): { status: number; body: ErrorBody } {
  if (error instanceof AppError) {
    return {
      status: httpStatusByCode[error.code] ?? httpStatusByKind[error.kind],
      body: {
        error: {
          kind: error.kind,
          code: error.code,
          message: error.message,
          details: error.details,
          request_id: requestId,
        },
      },
    };
  }
  // The database refused a row under migration 080's subtree policies: a scoped caller reached for something
  // outside its subtree that no handler check caught. Refused, not a failure of ours.
  if (isRowSecurityViolation(error)) return toHttpError(outsideScope(), requestId);
  return {
    status: 500,
    body: {
      error: {
        kind: 'internal',
        code: 'internal_error',
        message: 'Internal error',
        details: [],
        request_id: requestId,
      },
    },
  };
}

export const outsideScope = () =>
  forbidden('outside_scope', 'The row is outside what this caller may change (its reseller subtree)');

function isRowSecurityViolation(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '42501' && typeof message === 'string' && message.includes('row-level security');
}

export function toTrpcCode(
  error: AppError,
): (typeof trpcCodeByKind)[ErrorKind] | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' {
  if (error.code === 'body_too_large') return 'PAYLOAD_TOO_LARGE';
  if (error.code === 'unsupported_content_type') return 'UNSUPPORTED_MEDIA_TYPE';
  return trpcCodeByKind[error.kind];
}
