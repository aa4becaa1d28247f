// Grants denominated in credits over HTTP: 5,000 credits at $0.002 are worth $10 in the currency the kernel draws
// and the ledger holds; the API shows the credit balance beside the currency one after usage; bad input names
// its field; the conversion rounds half-even once, at issue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditsToNano, nanoToCredits } from '../../service/src/domains/wallets/service.ts';
import { signUpTenant, startService, type Harness, type TenantFixture } from '../service/harness.ts';
import { billingBook, client, tokens } from './fixtures.ts';
import { checkLedger, nano } from './ledger-check.ts';

describe('credit units', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    harness = await startService({ now: '2026-03-01T00:00:00Z' });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    await api.ok('POST', '/v1/price_books', { book: billingBook });
    await api.ok('POST', '/v1/customers', { external_id: 'credits-co', currency: 'USD' });
    await api.ok('PUT', '/v1/customers/credits-co/price_book', {
      price_book: 'ai-platform',
      effective_from: '2026-01-01T00:00:00Z',
    });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('issues credits at a rate, draws their currency value, and shows the balance in credits', async () => {
    const both = await api.call('POST', '/v1/customers/credits-co/credit_grants', {
      kind: 'prepaid',
      amount: '10',
      credits: { amount: '5000', rate: '0.002' },
    });
    expect(both.status).toBe(400);
    expect(both.body.error.details[0].field).toBe('amount');
    const neither = await api.call('POST', '/v1/customers/credits-co/credit_grants', { kind: 'prepaid' });
    expect(neither.status).toBe(400);
    const badRate = await api.call('POST', '/v1/customers/credits-co/credit_grants', {
      kind: 'prepaid',
      credits: { amount: '5000', rate: '0' },
    });
    expect(badRate.status).toBe(400);
    expect(badRate.body.error.details[0].field).toBe('credits.rate');
    const dust = await api.call('POST', '/v1/customers/credits-co/credit_grants', {
      kind: 'prepaid',
      credits: { amount: '0.000000001', rate: '0.1' },
    });
    expect(dust.status).toBe(400);
    expect(dust.body.error).toMatchObject({ code: 'grant_worth_nothing', details: [{ field: 'credits.amount' }] });

    const huge = await api.call('POST', '/v1/customers/credits-co/credit_grants', {
      kind: 'prepaid',
      credits: { amount: '9000000000', rate: '1000' },
    });
    expect(huge.status).toBe(400);
    expect(huge.body.error).toMatchObject({ code: 'grant_too_large', details: [{ field: 'credits.amount' }] });
    // Past 64 bits of nano-units: refused by field, not a 500.
    const digits = await api.call('POST', '/v1/customers/credits-co/credit_grants', {
      kind: 'prepaid',
      credits: { amount: '900000000000000000', rate: '1' },
    });
    expect(digits.status).toBe(400);
    expect(digits.body.error.details[0].field).toBe('credits.amount');
    const grant = await api.ok('POST', '/v1/customers/credits-co/credit_grants', {
      kind: 'prepaid',
      name: 'Credit pack',
      credits: { amount: '5000', rate: '0.002' },
    });
    expect(grant).toMatchObject({
      amount: '10.000000000',
      balance: '10.000000000',
      credits: { amount: '5000.000000000', rate: '0.002000000', balance: '5000.000000000' },
    });

    // $3 of usage: $7 left, 3,500 credits.
    harness.clock.set('2026-03-05T00:00:00Z');
    const [ack] = await api.events(tokens('cu-1', 'credits-co', 150_000, '2026-03-04T00:00:00Z'));
    expect(ack).toMatchObject({ amount: '0.000000000', credits_applied: '3.000000000', credit_balance: '7.000000000' });
    const [after] = (await api.ok('GET', '/v1/customers/credits-co/credit_grants')).data;
    expect(after).toMatchObject({ balance: '7.000000000', credits: { balance: '3500.000000000' } });

    const balances = await checkLedger(harness.database.owner, tenant.tenantId);
    expect(balances.get(`grant:${grant.id}`)).toBe(-nano('7'));
    expect(balances.get('clearing:prepaid_purchases:USD')).toBe(nano('10'));
  });

  it('converts half-even to the nano-unit (pure)', () => {
    // 1 nano-credit at 0.5 = 0.5 nano: to even (0); 3 nano-credits at 0.5 = 1.5: to 2.
    expect(creditsToNano(1n, 500_000_000n)).toBe(0n);
    expect(creditsToNano(3n, 500_000_000n)).toBe(2n);
    expect(creditsToNano(5_000_000_000_000n, 2_000_000n)).toBe(10_000_000_000n);
    // $1 at $0.003 per credit: 333.333333333 credits.
    expect(nanoToCredits(1_000_000_000n, 3_000_000n)).toBe(333_333_333_333n);
  });
});
