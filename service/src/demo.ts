// First run of `npm start`: a demo tenant with a key, a customer, a meter and a price book, so that the
// printed curl command rates an event straight away.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Actor } from './platform/auth.ts';
import type { Deps } from './platform/deps.ts';
import { createCustomer, assignPriceBook } from './domains/customers/service.ts';
import { createApiKey } from './domains/keys/service.ts';
import { createMeter } from './domains/meters/service.ts';
import { createPriceBook } from './domains/pricing/service.ts';
import { signUp } from './domains/tenants/service.ts';

export interface DemoCredentials {
  tenant_id: string;
  /** The tenant's login name (absent in credentials saved before slugs existed). */
  tenant_slug?: string;
  email: string;
  password: string;
  api_key: string;
}

const demoBook = {
  id: 'demo-llm',
  currency: 'USD',
  versions: [
    {
      effective_from: '2020-01-01T00:00:00Z',
      rate_cards: [
        {
          id: 'openai/gpt-4o',
          match: { provider: 'openai', model: 'gpt-4o' },
          charges: [
            { dimension: 'input_tokens', price: { model: 'per_unit', rate: '2.5' } },
            { dimension: 'output_tokens', price: { model: 'per_unit', rate: '10' } },
          ],
        },
        {
          id: 'gpu/h100',
          match: { event_type: 'gpu.job', gpu_type: 'h100' },
          dimensions: { gpu_seconds: { gpu_time: { minimum_seconds: '60' } } },
          charges: [{ dimension: 'gpu_seconds', price: { model: 'per_unit', rate: '3.2', per: '3600' } }],
        },
      ],
    },
  ],
};

export async function createDemoTenant(deps: Deps): Promise<DemoCredentials> {
  const email = 'demo@tariff.local';
  const password = crypto.randomBytes(12).toString('base64url');
  const { tenant, user } = await signUp(deps, { tenant_name: 'Demo AI', tenant_slug: 'demo', email, password });
  const owner: Actor = { tenantId: tenant.id, type: 'user', id: user.id, principal: 'owner' };
  const key = await createApiKey(deps, owner, { kind: 'secret', name: 'demo', role: 'admin' });
  await createPriceBook(deps, owner, { name: 'Demo LLM and GPU prices', book: demoBook });
  await createCustomer(deps, owner, {
    external_id: 'demo-customer',
    currency: 'USD',
    name: 'Demo customer',
    is_reseller: false,
    metadata: {},
  });
  await assignPriceBook(deps, owner, 'demo-customer', {
    price_book: 'demo-llm',
    effective_from: '2020-01-01T00:00:00Z',
  });
  await createMeter(deps, owner, {
    code: 'tokens',
    name: 'Input tokens',
    event_type: 'llm.completion',
    aggregation: 'sum',
    property: 'input_tokens',
    group_by: ['model'],
    filters: [],
  });
  return { tenant_id: tenant.id, tenant_slug: tenant.slug, email, password, api_key: key.secret };
}

export async function readDemoCredentials(dataDir: string): Promise<DemoCredentials | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dataDir, 'demo-credentials.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Kept beside the embedded database (a local, single-user folder) so later starts can print the key again. */
export async function saveDemoCredentials(dataDir: string, credentials: DemoCredentials): Promise<void> {
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(path.join(dataDir, 'demo-credentials.json'), JSON.stringify(credentials, null, 2) + '\n', {
    mode: 0o600,
  });
}

export function demoInstructions(url: string, credentials: DemoCredentials): string {
  const event = JSON.stringify({
    transaction_id: `demo-${Date.now()}`,
    customer_id: 'demo-customer',
    event_type: 'llm.completion',
    timestamp: new Date().toISOString(),
    properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1200, output_tokens: 350 },
  });
  return [
    `Tariff is running at ${url}`,
    `Demo tenant: ${credentials.tenant_slug ?? credentials.tenant_id} (log in as ${credentials.email} / ${credentials.password})`,
    `Demo API key: ${credentials.api_key}`,
    `Try: curl -s ${url}/v1/events -H 'authorization: Bearer ${credentials.api_key}' -H 'content-type: application/json' -d '${event}'`,
    `Then: curl -s ${url}/v1/customers/demo-customer/usage -H 'authorization: Bearer ${credentials.api_key}'`,
  ].join('\n');
}
