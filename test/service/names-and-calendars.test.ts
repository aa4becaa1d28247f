// Through the service: an event names its provider and model as the provider writes them ("OpenAI", "GPT-4o") and is
// rated by the card written in lowercase; a version's holiday calendar is stored, read back, and prices a holiday.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, signUpTenant, startService, type Harness, type TenantFixture } from './harness.ts';

const perMillion = (rate: string) => [{ dimension: 'input_tokens', price: { model: 'per_unit', rate } }];
const book = {
  id: 'names-and-calendars',
  currency: 'USD',
  versions: [
    {
      effective_from: '2026-01-01T00:00:00Z',
      calendars: { cn_public_holidays: { time_zone: 'Asia/Shanghai', dates: ['2026-10-01', '2026-10-02'] } },
      windows: {
        peak: {
          time_zone: 'Asia/Shanghai',
          days: ['mon', 'tue', 'wed', 'thu', 'fri'],
          start: '09:00',
          end: '18:00',
          except: 'cn_public_holidays',
        },
      },
      rate_cards: [
        { id: 'openai/gpt-4o', match: { provider: 'openai', model: 'gpt-4o' }, charges: perMillion('2') },
        {
          id: 'deepseek/v4',
          match: { provider: 'deepseek', model: { starts_with: 'deepseek-v4' } },
          charges: perMillion('0.5'),
          variants: [{ when: { window: 'peak' }, charges: perMillion('1') }],
        },
      ],
    },
  ],
};

const event = (id: string, provider: string, model: string, timestamp: string) => ({
  transaction_id: id,
  customer_id: 'acme',
  event_type: 'llm.completion',
  timestamp,
  properties: { provider, model, input_tokens: 1_000_000 },
});

describe('names as providers write them, and holiday calendars, through the service', () => {
  let harness: Harness;
  let tenant: TenantFixture;

  beforeAll(async () => {
    harness = await startService({ now: '2026-10-15T00:00:00Z' });
    tenant = await signUpTenant(harness);
    const setup = [
      ['POST', '/v1/customers', { external_id: 'acme', currency: 'USD' }],
      ['POST', '/v1/price_books', { book }],
      [
        'PUT',
        '/v1/customers/acme/price_book',
        { price_book: 'names-and-calendars', effective_from: '2026-01-01T00:00:00Z' },
      ],
    ] as const;
    for (const [method, path, body] of setup) {
      const response = await rest(harness, method, path, { key: tenant.secretKey, body });
      expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('keeps the version calendar and rates mixed-case names and the holiday', async () => {
    const stored = await rest(harness, 'GET', '/v1/price_books/names-and-calendars', { key: tenant.secretKey });
    expect(stored.status).toBe(200);
    expect(JSON.stringify(stored.body)).toContain('"cn_public_holidays"');

    const response = await rest(harness, 'POST', '/v1/events', {
      key: tenant.secretKey,
      body: {
        events: [
          event('gpt', 'OpenAI', 'GPT-4o', '2026-10-05T02:00:00Z'),
          // Friday 2026-10-02 10:00 in Beijing is a public holiday: off-peak; Friday 2026-10-09 10:00 is peak.
          event('holiday', 'DeepSeek', 'DeepSeek-V4', '2026-10-02T02:00:00Z'),
          event('working_day', 'DeepSeek', 'DeepSeek-V4-Chat', '2026-10-09T02:00:00Z'),
        ],
      },
    });
    expect(response.status).toBe(200);
    expect(response.body.events.map((e: any) => [e.transaction_id, e.status, e.card, e.amount])).toEqual([
      ['gpt', 'accepted', 'openai/gpt-4o', '2.000000000'],
      ['holiday', 'accepted', 'deepseek/v4', '0.500000000'],
      ['working_day', 'accepted', 'deepseek/v4', '1.000000000'],
    ]);
  });
});
