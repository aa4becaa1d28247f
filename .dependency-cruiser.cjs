// Domain boundaries, checked by dependency-cruiser from test/service/boundaries.test.ts (so `npm test` fails on a
// new violation). By hand: npx depcruise --config .dependency-cruiser.cjs service/src service/web/src openapi sdk/src webhooks/src core-wasm/src
const fs = require('node:fs');
const path = require('node:path');

const DOMAINS = 'service/src/domains';

// Every domain in one order, from the top (imports the most) to the bottom (imports the least). A domain may
// import only the domains below it, so the graph between domain folders has no cycle: a new import upward fails
// the build. Move a domain when the graph changes, or signal instead (platform/signals.ts: pricing announces a
// retroactive version, re-rating reacts, wired in app.ts), or let the caller orchestrate.
const DOMAIN_ORDER = [
  'documents',
  'portal',
  'payments',
  'reratings',
  'simulations',
  'webhooks',
  'creditnotes',
  'resellers',
  'insights',
  'events',
  'invoices',
  'sla',
  'holds',
  'snapshots',
  'budgets',
  'quotes',
  'wallets',
  'ledger',
  'subscriptions',
  'notifications',
  'plans',
  'customers',
  'brands',
  'pricing',
  'currency',
  'tenants',
  'tax',
  'meters',
  'periods',
  'mail',
  'keys',
  'audit',
];

// KNOWN upward imports: each one closes a cycle between domains that exists today. The lead shrinks this list;
// nothing may be added to it. `from: [to, ...]`, with the files concerned.
const KNOWN_UPWARD = {
  // The ingestion cluster (events/ is being rewritten on branch `ingest`): quotes, snapshots and holds use
  // events' rating (events/rating.ts, events/billing.ts, events/schema.ts), while events calls quotes and holds.
  quotes: ['events', 'snapshots'], // quotes/service.ts, quotes/schema.ts; quotes/service.ts -> snapshots/service.ts
  snapshots: ['events'], // snapshots/service.ts -> events/billing.ts, events/rating.ts
  holds: ['events'], // holds/service.ts -> events/billing.ts, rating.ts, repo.ts; holds/schema.ts -> events/schema.ts
  wallets: ['holds'], // wallets/service.ts -> holds/repo.ts (sumOpenHolds)
  currency: ['customers'], // currency/repo.ts -> customers/rating-currency.ts (ratingCurrencySql)
};

// A domain uses another through its service (and pure modules, schemas); only its own repo sends its SQL.
// KNOWN imports of another domain's repo (runtime, not `import type`), `from: [repo's domain, ...]`: the lead
// shrinks this list; nothing may be added to it.
const KNOWN_FOREIGN_REPOS = {
  budgets: ['customers', 'keys'],
  creditnotes: ['invoices'],
  customers: ['pricing'],
  documents: ['creditnotes', 'invoices', 'tax'],
  events: ['budgets', 'holds', 'invoices', 'meters', 'notifications', 'pricing', 'subscriptions', 'wallets'],
  holds: ['budgets'],
  insights: ['customers', 'meters'],
  invoices: ['audit', 'sla', 'subscriptions'],
  payments: ['creditnotes', 'invoices'],
  plans: ['pricing'],
  portal: ['customers', 'insights', 'tenants'],
  quotes: ['customers'],
  reratings: ['invoices', 'meters', 'pricing', 'wallets'],
  simulations: ['events', 'pricing', 'subscriptions'],
  snapshots: ['budgets', 'customers', 'pricing'],
  subscriptions: ['customers', 'plans'],
  wallets: ['customers', 'holds', 'meters'],
};

// A domain folder missing from the order would escape the layer rule: refuse to run instead.
const present = fs
  .readdirSync(path.join(__dirname, DOMAINS), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const unplaced = present.filter((d) => !DOMAIN_ORDER.includes(d));
if (unplaced.length > 0) throw new Error(`.dependency-cruiser.cjs: place ${unplaced.join(', ')} in DOMAIN_ORDER`);

const alternatives = (names) => `(${names.join('|')})`;

const layerRules = DOMAIN_ORDER.flatMap((domain, i) => {
  const above = DOMAIN_ORDER.slice(0, i).filter((d) => !(KNOWN_UPWARD[domain] ?? []).includes(d));
  if (above.length === 0) return [];
  return [
    {
      name: 'no-domain-cycle',
      comment: `${domain} imports a domain above it in DOMAIN_ORDER (${above.join(', ')}): that makes a cycle possible between domain folders`,
      severity: 'error',
      from: { path: `^${DOMAINS}/${domain}/` },
      to: { path: `^${DOMAINS}/${alternatives(above)}/` },
    },
  ];
});

const repoRules = present.map((domain) => {
  const allowed = [domain, ...(KNOWN_FOREIGN_REPOS[domain] ?? [])];
  return {
    name: 'no-foreign-repo',
    comment: `${domain} imports another domain's repo: call its service instead (only a domain's own service reaches its SQL)`,
    severity: 'error',
    from: { path: `^${DOMAINS}/${domain}/` },
    to: {
      path: `^${DOMAINS}/[^/]+/[^/]*repo\\.ts$`,
      pathNot: `^${DOMAINS}/${alternatives(allowed)}/`,
      dependencyTypesNot: ['type-only'],
    },
  };
});

// What the sources are, and the allow-lists (not enumerable: not part of dependency-cruiser's configuration), for
// test/service/boundaries.test.ts, which also fails when an allow-listed import is gone (shrink the list then).
const SOURCES = ['service/src', 'service/web/src', 'openapi', 'sdk/src', 'webhooks/src', 'core-wasm/src'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    ...repoRules,
    {
      name: 'no-circular',
      // Cycles through `import type` alone are erased at compile time and left out here (two exist: sdk/src/client.ts
      // with operations.gen.ts, core-wasm's catalogue.ts with litellm.ts); between domains they still count (above).
      comment: 'A cycle between modules (files) at run time, inside a domain or across folders',
      severity: 'error',
      from: {},
      to: { circular: true, dependencyTypesNot: ['type-only'], viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'openapi-not-service',
      comment: 'openapi/ is the contract: the service imports it, never the reverse',
      severity: 'error',
      from: { path: '^openapi/' },
      to: { path: '^service/' },
    },
    {
      name: 'web-not-domains',
      comment: 'The dashboard (service/web) talks to the service through tRPC: it imports no domain code',
      severity: 'error',
      from: { path: '^service/web/' },
      to: { path: `^${DOMAINS}/` },
    },
    {
      name: 'web-types-only',
      comment: 'The dashboard may import the service only for types (AppRouter), which the bundle does not contain',
      severity: 'error',
      from: { path: '^service/web/' },
      to: { path: '^service/src/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    // Type-only imports count: a cycle through types is still a cycle between domains.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'] },
  },
};
Object.defineProperty(module.exports, 'boundaries', {
  value: { SOURCES, DOMAINS, KNOWN_UPWARD, KNOWN_FOREIGN_REPOS },
  enumerable: false,
});
