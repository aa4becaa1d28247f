// What "send a test event" needs on a fresh tenant: a starter price book, a meter and a test customer on that book.
import { TRPCClientError } from '@trpc/client';
import type { Api } from '../api.ts';

export const starterBookCode = 'starter-llm';
export const testCustomerId = 'test-customer';

/** Public list prices of gpt-4o (per million tokens) and an H100 by the hour: enough to see a receipt. */
export const starterBook = {
  id: starterBookCode,
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

export function sampleEvent(transactionId: string, at = new Date()) {
  return {
    transaction_id: transactionId,
    customer_id: testCustomerId,
    event_type: 'llm.completion',
    timestamp: at.toISOString(),
    properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1200, output_tokens: 300 },
  };
}

const missing = (error: unknown) => error instanceof TRPCClientError && error.data?.httpStatus === 404;

async function unlessPresent(find: () => Promise<unknown>, create: () => Promise<unknown>): Promise<void> {
  try {
    await find();
  } catch (error) {
    if (!missing(error)) throw error;
    await create();
  }
}

/** Creates whichever of the starter book, token meter and test customer the tenant lacks. */
export async function ensureStarterSetup(api: Api): Promise<void> {
  await unlessPresent(
    () => api.priceBooks.get.query({ code: starterBookCode }),
    () => api.priceBooks.create.mutate({ name: 'Starter LLM and GPU prices', book: starterBook }),
  );
  await unlessPresent(
    () => api.meters.get.query({ code: 'tokens' }),
    () =>
      api.meters.create.mutate({
        code: 'tokens',
        name: 'Tokens',
        event_type: 'llm.completion',
        aggregation: 'sum',
        property: 'input_tokens',
        group_by: ['model'],
        filters: [],
      }),
  );
  await unlessPresent(
    () => api.customers.get.query({ id: testCustomerId }),
    async () => {
      await api.customers.create.mutate({ external_id: testCustomerId, name: 'Test customer', currency: 'USD' });
      await api.customers.assignPriceBook.mutate({
        id: testCustomerId,
        assignment: { price_book: starterBookCode, effective_from: '2020-01-01T00:00:00Z' },
      });
    },
  );
}
