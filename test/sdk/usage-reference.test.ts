// usageFromResponse against the reference: @pydantic/genai-prices' own extractUsage on the same catalogue snapshot,
// then the extracted properties priced by Tariff (the imported catalogue book, wasm kernel) against its calcPrice.
import { readFileSync } from 'node:fs';
import { Decimal } from 'decimal.js';
import { calcPrice, extractUsage, updatePrices, waitForUpdate, type Provider } from '@pydantic/genai-prices';
import { importGenaiPrices } from '@tariff/core-wasm/importers/genai-prices';
import { rate } from '@tariff/core-wasm/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESPONSE_FIXTURES } from '../../sdk/src/usage.fixtures.ts';
import { usageFromResponse } from '../../sdk/src/usage.ts';
import { CATALOGUE_PATH } from '../genai-prices/catalogue.ts';

const catalogue = JSON.parse(readFileSync(CATALOGUE_PATH, 'utf8')) as Provider[];
const providerById = new Map(catalogue.map((provider) => [provider.id, provider]));
const AT = '2026-08-21T12:00:00.000Z';

describe('usageFromResponse agrees with genai-prices extractUsage', () => {
  it.each(RESPONSE_FIXTURES.map((fixture) => [fixture.name, fixture] as const))('%s', (_, fixture) => {
    const ours = usageFromResponse(fixture.provider, fixture.body, fixture.options);
    const reference = extractUsage(providerById.get(ours.provider)!, fixture.body, ours.flavor);
    if (ours.provider === 'deepseek') {
      // The one deliberate difference: DeepSeek's documented cache-hit field, which the catalogue does not map.
      expect(reference.usage).not.toHaveProperty('cache_read_tokens');
      const { cache_read_tokens, ...rest } = ours.usage;
      expect(cache_read_tokens).toBe(1280);
      expect(rest).toEqual(reference.usage);
    } else {
      expect(ours.usage).toEqual(reference.usage);
    }
    expect(ours.model).toBe(
      reference.model === null ? fixture.options?.model?.toLowerCase() : reference.model.toLowerCase(),
    );
  });
});

describe('the extracted properties are what the imported catalogue book prices', () => {
  beforeAll(async () => {
    updatePrices(({ setProviderData }) => setProviderData(structuredClone(catalogue)));
    await waitForUpdate();
  });

  it('Tariff rates each fixture as calcPrice prices the same usage (to the nano-unit per line)', async () => {
    const book = importGenaiPrices(catalogue);
    const extracted = RESPONSE_FIXTURES.map((fixture) =>
      usageFromResponse(fixture.provider, fixture.body, fixture.options),
    );
    const events = extracted.map((usage, i) => ({
      transaction_id: `fixture_${i}`,
      customer_id: 'c',
      event_type: 'llm.request',
      timestamp: AT,
      properties: usage.properties,
    }));
    const { results } = await rate(book, {}, events);
    let priced = 0;
    extracted.forEach((usage, i) => {
      const expected =
        usage.model === undefined
          ? null
          : calcPrice(usage.usage, usage.model, { providerId: usage.provider, timestamp: new Date(AT) });
      const result = results[i];
      if (expected === null) {
        expect(result.error?.code, RESPONSE_FIXTURES[i].name).toBe('no_rate_card');
        return;
      }
      priced++;
      expect(result.status, `${RESPONSE_FIXTURES[i].name}: ${JSON.stringify(result.error)}`).toBe('rated');
      const lines = result.receipt!.filter((step) => step.step === 'price').length;
      const difference = new Decimal(result.amount!).minus(expected.total_price).abs();
      expect(
        difference.lte(new Decimal('0.0000000005').times(lines).plus(new Decimal(expected.total_price).times(1e-9))),
        `${RESPONSE_FIXTURES[i].name}: ${result.amount} vs ${expected.total_price}`,
      ).toBe(true);
    });
    // Every fixture names a catalogue model, so every one is priced by both.
    expect(priced).toBe(RESPONSE_FIXTURES.length);
  });
});
