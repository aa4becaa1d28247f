// The composition root: one Express app serving /v1 (API keys) and /trpc (dashboard sessions).
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import openApiDocument from '@tariff/openapi/openapi.json' with { type: 'json' };
import http from 'node:http';
import express, { type Request, type Response } from 'express';
import { auditRestRoutes, auditTrpc } from './domains/audit/router.ts';
import { budgetsRestRoutes, budgetsTrpc, checkRoute } from './domains/budgets/router.ts';
import { creditNotesRestRoutes, creditNotesTrpc } from './domains/creditnotes/router.ts';
import { customersRestRoutes, customersTrpc } from './domains/customers/router.ts';
import { ingestionRoute } from './domains/events/fast-path.ts';
import { trackForeground } from './platform/foreground.ts';
import { eventsRestRoutes, eventsTrpc } from './domains/events/router.ts';
import { insightsRestRoutes, insightsTrpc } from './domains/insights/router.ts';
import { holdsRestRoutes, holdsTrpc, placeHoldRoute } from './domains/holds/router.ts';
import { invoicesRestRoutes, invoicesTrpc } from './domains/invoices/router.ts';
import { documentsRestRoutes, documentsTrpc } from './domains/documents/router.ts';
import { taxRestRoutes, taxTrpc } from './domains/tax/router.ts';
import { portalRestRoutes, portalTrpc } from './domains/portal/router.ts';
import { simulationsTrpc } from './domains/simulations/router.ts';
import { notificationsRestRoutes, notificationsTrpc } from './domains/notifications/router.ts';
import { slaRestRoutes, slaTrpc } from './domains/sla/router.ts';
import { ledgerRestRoutes, ledgerTrpc } from './domains/ledger/router.ts';
import { apiKeyAuthentication, keysRestRoutes, keysTrpc } from './domains/keys/router.ts';
import * as keys from './domains/keys/service.ts';
import { metersRestRoutes, metersTrpc } from './domains/meters/router.ts';
import { pricingRestRoutes, pricingTrpc } from './domains/pricing/router.ts';
import { plansRestRoutes, plansTrpc } from './domains/plans/router.ts';
import { reratingsRestRoutes, reratingsTrpc } from './domains/reratings/router.ts';
import { resellersRestRoutes, resellersTrpc } from './domains/resellers/router.ts';
import { startRerating } from './domains/reratings/service.ts';
import { quotesRestRoutes } from './domains/quotes/router.ts';
import { snapshotsRestRoutes } from './domains/snapshots/router.ts';
import { subscriptionsRestRoutes, subscriptionsTrpc } from './domains/subscriptions/router.ts';
import { walletsRestRoutes, walletsTrpc } from './domains/wallets/router.ts';
import { webhooksRestRoutes, webhooksTrpc } from './domains/webhooks/router.ts';
import { invoicePaymentsTrpc, paymentsRestRoutes, paymentsTrpc, stripeEventRoutes } from './domains/payments/router.ts';
import { tenantStripeTaxConnection } from './domains/payments/service.ts';
import { currencyRestRoutes, currencyTrpc } from './domains/currency/router.ts';
import * as tenants from './domains/tenants/service.ts';
import { accountsRestRoutes, authTrpc, clientAddress, usersRestRoutes, usersTrpc } from './domains/tenants/router.ts';
import type { Clock } from './platform/clock.ts';
import type { PaymentSettings } from './platform/config.ts';
import { checkDatabase, type Db } from './platform/db.ts';
import { fastPath } from './platform/fast-path.ts';
import type { Deps } from './platform/deps.ts';
import type { JobRunner } from './platform/jobs.ts';
import { errorHandler, jsonBody, locals, requestContext, routeNotFound } from './platform/http.ts';
import { createLogger, type Logger } from './platform/log.ts';
import type { Mailer } from './platform/mail.ts';
import { createRateLimiter, type AccountRateRule, type RateLimiter, type RateRule } from './platform/ratelimit.ts';
import { AppError } from './platform/errors.ts';
import { createMetrics, type Metrics } from './platform/metrics.ts';
import { mergeRouters, router, type TrpcContext } from './platform/trpc.ts';
import { csrfCookie, csrfProtection, csrfTokenOf } from './platform/csrf.ts';
import { webRoutes } from './platform/web.ts';
import { onSignal } from './platform/signals.ts';
import { composeInvoiceEmailsWith } from './domains/mail/service.ts';
import { composeInvoiceEmail } from './domains/documents/email.ts';
import { provideTenantStripeConnection } from './platform/tenant-stripe.ts';

export const appRouter = router({
  auth: authTrpc,
  users: usersTrpc,
  apiKeys: keysTrpc,
  customers: customersTrpc,
  meters: metersTrpc,
  priceBooks: pricingTrpc,
  audit: auditTrpc,
  events: eventsTrpc,
  wallets: walletsTrpc,
  ledger: ledgerTrpc,
  budgets: budgetsTrpc,
  plans: plansTrpc,
  subscriptions: subscriptionsTrpc,
  invoices: mergeRouters(invoicesTrpc, invoicePaymentsTrpc),
  creditNotes: creditNotesTrpc,
  documents: documentsTrpc,
  tax: taxTrpc,
  reratings: reratingsTrpc,
  slaCredits: slaTrpc,
  notifications: notificationsTrpc,
  webhooks: webhooksTrpc,
  insights: insightsTrpc,
  portal: portalTrpc,
  payments: paymentsTrpc,
  holds: holdsTrpc,
  currency: currencyTrpc,
  simulations: simulationsTrpc,
  resellers: resellersTrpc,
});
export type AppRouter = typeof appRouter;

export interface AppOptions {
  db: Db;
  clock: Clock;
  logger?: Logger;
  bodyLimitBytes?: number;
  sessionTtlSeconds?: number;
  metrics?: Metrics;
  /** The job system, reported by /readyz (absent when this process runs no jobs). */
  jobs?: Pick<JobRunner, 'status'>;
  /** Express's `trust proxy` (config TRUST_PROXY): X-Forwarded-Proto makes the session cookie Secure. */
  trustProxy?: boolean | number | string;
  /** Node's headersTimeout and requestTimeout (slow or stalled clients are cut off). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  mailer?: Mailer;
  publicUrl?: string;
  /** Stripe's address and the key of secrets at rest (config); absent: from the environment. */
  payments?: PaymentSettings;
  /** Overrides of the account endpoints' rate limits (tests, or a deployment's own). */
  rateLimits?: Partial<Record<AccountRateRule, RateRule>>;
  /** The built dashboard (service/web/dist by default); false serves none. */
  webRoot?: string | false;
  taxIdVerifier?: Deps['taxIdVerifier'];
}

const sessionCookie = 'tariff_session';

const defaultBodyLimitBytes = 16 * 1024 * 1024;

/**
 * The edges that would otherwise run upward, wired here: which domain reacts to which signal
 * (platform/signals.ts), who composes the mail outbox's invoice emails, and who opens a tenant's Stripe
 * connection for the tax domain (platform/tenant-stripe.ts). Idempotent.
 */
export function wireReactions(): void {
  onSignal('price_book.retroactive_version', startRerating);
  composeInvoiceEmailsWith(composeInvoiceEmail);
  provideTenantStripeConnection(tenantStripeTaxConnection);
}

function depsOf(options: AppOptions): Deps {
  wireReactions();
  const logger = options.logger ?? createLogger('info');
  const metrics = options.metrics ?? createMetrics();
  return {
    db: options.db,
    clock: options.clock,
    logger,
    metrics,
    sessionTtlSeconds: options.sessionTtlSeconds ?? 30 * 24 * 3600,
    mailer: options.mailer,
    publicUrl: options.publicUrl,
    payments: options.payments,
    taxIdVerifier: options.taxIdVerifier,
  };
}

/**
 * The service's HTTP server: plain ingestion, hold placement and check requests on the fast path
 * (platform/fast-path.ts), the rest in the app.
 */
export function createServer(options: AppOptions): http.Server {
  const deps = depsOf(options);
  const app = appOf(deps, options);
  const fast = fastPath(deps, options.bodyLimitBytes ?? defaultBodyLimitBytes, keys.authenticateApiKey, [
    ingestionRoute,
    placeHoldRoute,
    checkRoute,
  ]);
  // A client that trickles its headers or body holds a socket; these bound how long. Node enforces them at
  // each connectionsCheckingInterval, so the interval follows the shorter timeout.
  const headersTimeout = options.headersTimeoutMs ?? 20_000;
  const requestTimeout = options.requestTimeoutMs ?? 120_000;
  const connectionsCheckingInterval = Math.max(
    250,
    Math.min(30_000, Math.floor(Math.min(headersTimeout, requestTimeout || Infinity) / 2)),
  );
  const server = http.createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval }, (req, res) => {
    trackForeground(res);
    if (!fast(req, res)) app(req, res);
  });
  return server;
}

export function createApp(options: AppOptions): express.Express {
  return appOf(depsOf(options), options);
}

function appOf(deps: Deps, options: AppOptions): express.Express {
  const { logger, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  const limiter = createRateLimiter(deps.clock, options.rateLimits);
  // No hash of every response body: the API's answers are per request (a route that can be cached, the
  // pricing snapshot, sets its own ETag).
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(
    requestContext(logger, (req, res, seconds) => {
      // The route pattern, not the path: a label per customer id would be unbounded.
      // (req.baseUrl is unwound when an error leaves the router, so the prefix comes from the URL.)
      const prefix = req.originalUrl.startsWith('/v1/') ? '/v1' : '';
      const route = req.route
        ? `${prefix}${req.route.path}`
        : req.originalUrl.startsWith('/trpc/')
          ? '/trpc'
          : 'unmatched';
      metrics.observe('http_request_duration_seconds', seconds, {
        method: req.method,
        route,
        status: String(res.statusCode),
      });
    }),
  );

  app.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4').send(metrics.render());
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await checkDatabase(deps.db);
      res.json({ status: 'ready', ...(options.jobs ? { jobs: await options.jobs.status() } : {}) });
    } catch (error) {
      logger.warn('readiness check failed', { error });
      res.status(503).json({ status: 'unavailable', reason: 'database' });
    }
  });

  // Bodies are parsed only after the caller is known: an unauthenticated request costs no JSON parsing.
  const body = jsonBody(options.bodyLimitBytes ?? defaultBodyLimitBytes);

  const v1 = express.Router();
  v1.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  v1.use(accountsRestRoutes(deps, limiter, body));
  // Stripe signs the raw body and carries no API key: ahead of authentication and the JSON parser.
  v1.use(stripeEventRoutes(deps, options.bodyLimitBytes ?? defaultBodyLimitBytes));
  v1.use(apiKeyAuthentication(deps), body);
  v1.use(usersRestRoutes(deps));
  v1.use(
    eventsRestRoutes(deps),
    customersRestRoutes(deps),
    metersRestRoutes(deps),
    pricingRestRoutes(deps),
    keysRestRoutes(deps),
    auditRestRoutes(deps),
  );
  // Express tries every route in order: the holds, a hot path, come right after the check's (budgets), not at the
  // end of the list.
  v1.use(
    walletsRestRoutes(deps),
    ledgerRestRoutes(deps),
    budgetsRestRoutes(deps),
    holdsRestRoutes(deps),
    plansRestRoutes(deps),
    subscriptionsRestRoutes(deps),
    invoicesRestRoutes(deps),
  );
  v1.use(creditNotesRestRoutes(deps), reratingsRestRoutes(deps));
  v1.use(taxRestRoutes(deps), documentsRestRoutes(deps));
  v1.use(snapshotsRestRoutes(deps), quotesRestRoutes(deps));
  v1.use(slaRestRoutes(deps), notificationsRestRoutes(deps));
  v1.use(webhooksRestRoutes(deps), paymentsRestRoutes(deps), portalRestRoutes(deps));
  v1.use(currencyRestRoutes(deps), resellersRestRoutes(deps), insightsRestRoutes(deps));
  app.use('/v1', v1);

  app.use(
    '/trpc',
    csrfProtection({ publicUrl: options.publicUrl, sessionFromCookie: sessionCookieOf }),
    body,
    createExpressMiddleware({
      router: appRouter,
      createContext: ({ req, res }) => createTrpcContext(deps, limiter, req, res),
      responseMeta: ({ errors }) => {
        const retryAfter = errors
          .map((error) => error.cause)
          .find((cause) => cause instanceof AppError && cause.retryAfterSeconds !== undefined) as AppError | undefined;
        return retryAfter ? { headers: { 'retry-after': String(retryAfter.retryAfterSeconds) } } : {};
      },
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          logger.error('unhandled tRPC error', { path, error: error.cause ?? error });
      },
    }),
  );

  const web = options.webRoot === false ? undefined : webRoutes(options.webRoot);
  if (web) app.use(web);

  app.use(routeNotFound);
  app.use(errorHandler(logger));
  return app;
}

async function createTrpcContext(deps: Deps, limiter: RateLimiter, req: Request, res: Response): Promise<TrpcContext> {
  const token = sessionTokenOf(req);
  const session = token ? await tenants.authenticateSession(deps, token) : undefined;
  const requestId = locals(res).requestId;
  const actor = session
    ? {
        tenantId: session.tenantId,
        type: session.type,
        id: session.id,
        principal: session.principal,
        requestId,
        ...(session.subtreeRootId ? { subtreeRootId: session.subtreeRootId } : {}),
      }
    : undefined;
  locals(res).actor = actor;
  return {
    deps,
    actor,
    requestId,
    sessionToken: session ? token : undefined,
    portalToken: /^Bearer\s+(?!ses_)(\S+)$/i.exec(req.get('authorization') ?? '')?.[1],
    clientAddress: clientAddress(req),
    limiter,
    setSessionCookie: (value, expiresAt) => {
      res.cookie(sessionCookie, value, {
        httpOnly: true,
        sameSite: 'lax',
        secure: req.secure,
        path: '/',
        expires: expiresAt,
      });
      // Readable by the dashboard's own script (not HttpOnly), which echoes it in the x-csrf-token header.
      res.cookie(csrfCookie, csrfTokenOf(value), {
        httpOnly: false,
        sameSite: 'strict',
        secure: req.secure,
        path: '/',
        expires: expiresAt,
      });
    },
    clearSessionCookie: () => {
      res.clearCookie(sessionCookie, { path: '/' });
      res.clearCookie(csrfCookie, { path: '/' });
    },
  };
}

function sessionTokenOf(req: Request): string | undefined {
  const bearer = /^Bearer\s+(ses_\S+)$/i.exec(req.get('authorization') ?? '');
  if (bearer) return bearer[1];
  return sessionCookieOf(req);
}

function sessionCookieOf(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== sessionCookie) continue;
    try {
      return decodeURIComponent(value.join('='));
    } catch {
      return undefined; // not percent-encoded UTF-8: no session of ours
    }
  }
  return undefined;
}
