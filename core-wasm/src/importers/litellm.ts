// LiteLLM's model price map (model_prices_and_context_window.json) restated as a genai-prices catalogue, so that one
// importer builds the cards: per-token prices become per-million prices of genai-prices' hierarchical usage keys.

import { Decimal } from 'decimal.js';
import type { SkippedModel } from './catalogue.ts';
import type { ImportNote } from './genai-prices.ts';

/** A note of the LiteLLM step: prices of the map that the book does not state for every model (see IGNORED). */
export interface LitellmNote {
  path: string;
  kind: 'price_ignored';
  message: string;
}

/** LiteLLM price key -> genai-prices price key and the factor from LiteLLM's unit (one token, one page...) to it. */
const PRICE_KEYS: Record<string, { priceKey: string; factor: number; modes?: string[] }> = {
  input_cost_per_token: { priceKey: 'input_mtok', factor: 1e6 },
  output_cost_per_token: { priceKey: 'output_mtok', factor: 1e6 },
  cache_read_input_token_cost: { priceKey: 'cache_read_mtok', factor: 1e6 },
  // Anthropic's 5-minute write price; the 1-hour writes, a part of all cache writes, have their own.
  cache_creation_input_token_cost: { priceKey: 'cache_write_mtok', factor: 1e6 },
  cache_creation_input_token_cost_above_1hr: { priceKey: 'cache_write_1h_mtok', factor: 1e6 },
  input_cost_per_audio_token: { priceKey: 'input_audio_mtok', factor: 1e6 },
  output_cost_per_audio_token: { priceKey: 'output_audio_mtok', factor: 1e6 },
  cache_read_input_audio_token_cost: { priceKey: 'cache_audio_read_mtok', factor: 1e6 },
  cache_creation_input_audio_token_cost: { priceKey: 'cache_audio_write_mtok', factor: 1e6 },
  output_cost_per_reasoning_token: { priceKey: 'output_reasoning_mtok', factor: 1e6 },
  input_cost_per_image_token: { priceKey: 'input_image_mtok', factor: 1e6 },
  output_cost_per_image_token: { priceKey: 'output_image_mtok', factor: 1e6 },
  output_cost_per_video_token: { priceKey: 'output_video_mtok', factor: 1e6 },
  input_cost_per_character: { priceKey: 'input_mchars', factor: 1e6 },
  input_cost_per_request: { priceKey: 'requests_kcount', factor: 1e3 },
  ocr_cost_per_page: { priceKey: 'input_document_kpages', factor: 1e3 },
  annotation_cost_per_page: { priceKey: 'input_annotated_document_kpages', factor: 1e3 },
  // Per second of audio for transcription models only; elsewhere a "second" is of video or of GPU time.
  input_cost_per_second: { priceKey: 'audio_hours', factor: 3600, modes: ['audio_transcription'] },
  input_cost_per_query: { priceKey: 'rerank_searches_kcount', factor: 1e3, modes: ['rerank'] },
};

/**
 * Prices of another way of buying the same usage (batch, flex and priority service tiers; Databricks' DBU
 * figures beside their dollar prices) or of tools the usage keys do not count (web search context). The book
 * prices standard usage; these are left out and counted in one note per key.
 */
const IGNORED: { test: (key: string) => boolean; why: string }[] = [
  {
    test: (key) => /_(batches|flex|priority)(_|$)/.test(key),
    why: 'another service tier (batch, flex or priority); the book prices the standard tier',
  },
  {
    test: (key) => key.startsWith('input_dbu_') || key.startsWith('output_dbu_'),
    why: 'Databricks DBUs, restated in dollars by the per-token prices',
  },
  {
    test: (key) => key === 'search_context_cost_per_query',
    why: 'web search calls are not among the usage keys; they are not priced',
  },
  {
    test: (key) => key === 'input_cost_per_token_cache_hit',
    why: 'stated as cache_read_input_token_cost where that is absent',
  },
];

/** A tier of a token price: the whole request at this price when its input tokens exceed `start` (LiteLLM: `>`). */
const TIERED = /^(.+)_above_(\d+)k_tokens$/;

interface GenaiModel {
  id: string;
  match: { equals: string } | { or: { equals: string }[] };
  prices: Record<string, number | { base: number; tiers: { start: number; price: number }[] }>;
}

export interface LitellmConversion {
  catalogue: { id: string; models: GenaiModel[] }[];
  skipped: SkippedModel[];
  notes: (ImportNote | LitellmNote)[];
  /** The LiteLLM entry behind a path of the converted catalogue (`$[p].models[m]...`). */
  originOf(path: string): { key: string; path: string } | undefined;
}

export function litellmToGenaiPrices(map: unknown): LitellmConversion {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new TypeError('expected the LiteLLM price map: an object of model names to entries');
  }
  const providers = new Map<string, { id: string; models: GenaiModel[]; keys: string[] }>();
  const skipped: SkippedModel[] = [];
  const ignoredCounts = new Map<string, { count: number; why: string }>();
  for (const [key, entry] of Object.entries(map as Record<string, unknown>)) {
    // `sample_spec` documents the format; `last_updated` dates the file.
    if (key === 'sample_spec' || typeof entry !== 'object' || entry === null || Array.isArray(entry)) continue;
    const path = `$[${JSON.stringify(key)}]`;
    const fields = entry as Record<string, unknown>;
    const provider = typeof fields.litellm_provider === 'string' ? fields.litellm_provider.trim() : '';
    const skip = (reason: string) => skipped.push({ provider: provider || null, model: key, path, reason });
    if (!provider) {
      skip('no litellm_provider: not a model entry');
      continue;
    }
    const converted = convertPrices(fields, (priceKey, why) => {
      const counted = ignoredCounts.get(priceKey) ?? { count: 0, why };
      counted.count++;
      ignoredCounts.set(priceKey, counted);
    });
    if ('reason' in converted) {
      skip(converted.reason);
      continue;
    }
    const names = [key];
    if (key.toLowerCase().startsWith(`${provider.toLowerCase()}/`) && key.length > provider.length + 1)
      names.push(key.slice(provider.length + 1));
    const model: GenaiModel = {
      id: key,
      match: names.length === 1 ? { equals: key } : { or: names.map((name) => ({ equals: name })) },
      prices: converted.prices,
    };
    let group = providers.get(provider);
    if (!group) providers.set(provider, (group = { id: provider, models: [], keys: [] }));
    group.models.push(model);
    group.keys.push(key);
  }
  const groups = [...providers.values()];
  // A key that repeats its provider ("gemini/gemini-pro" of provider gemini) names its card without the repetition,
  // unless the provider has an entry of that name too.
  for (const group of groups) {
    const ids = new Set(group.models.map((model) => model.id));
    for (const model of group.models) {
      const short = 'or' in model.match ? model.match.or[1]!.equals : undefined;
      if (short !== undefined && !ids.has(short)) {
        ids.add(short);
        model.id = short;
      }
    }
  }
  const notes: LitellmNote[] = [...ignoredCounts].map(([priceKey, { count, why }]) => ({
    path: '$',
    kind: 'price_ignored',
    message: `${priceKey} left out of ${count} entr${count === 1 ? 'y' : 'ies'}: ${why}`,
  }));
  return {
    catalogue: groups.map(({ id, models }) => ({ id, models })),
    skipped,
    notes,
    originOf(path) {
      const match = /^\$\[(\d+)\](?:\.models\[(\d+)\])?/.exec(path);
      if (!match || match[2] === undefined) return undefined;
      const key = groups[Number(match[1])]?.keys[Number(match[2])];
      return key === undefined ? undefined : { key, path: `$[${JSON.stringify(key)}]` };
    },
  };
}

function convertPrices(
  fields: Record<string, unknown>,
  ignore: (priceKey: string, why: string) => void,
): { prices: GenaiModel['prices'] } | { reason: string } {
  const mode = typeof fields.mode === 'string' ? fields.mode : undefined;
  const flat = new Map<string, { value: Decimal; factor: number }>();
  const tiers = new Map<string, { start: number; value: Decimal }[]>();
  const unstated: string[] = [];
  let priced = false;
  for (const [field, raw] of Object.entries(fields)) {
    if (!/cost/.test(field) || raw === null || raw === undefined) continue;
    priced = true;
    const ignored = IGNORED.find((rule) => rule.test(field));
    if (ignored && !(field === 'input_cost_per_token_cache_hit' && fields.cache_read_input_token_cost === undefined)) {
      ignore(field, ignored.why);
      continue;
    }
    const tiered = TIERED.exec(field);
    const base = field === 'input_cost_per_token_cache_hit' ? 'cache_read_input_token_cost' : (tiered?.[1] ?? field);
    const mapping = PRICE_KEYS[base];
    const value = typeof raw === 'number' && Number.isFinite(raw) && raw >= 0 ? new Decimal(String(raw)) : null;
    if (value === null) {
      // A non-number (an object of sizes, a string) has no price key to go to; a zero one costs nothing either way.
      if (!isZeroValued(raw)) unstated.push(`${field} (${JSON.stringify(raw)})`);
      continue;
    }
    if (!mapping || (mapping.modes && !mapping.modes.includes(mode ?? ''))) {
      if (!value.isZero()) unstated.push(field);
      continue;
    }
    if (tiered) {
      const list = tiers.get(base) ?? [];
      list.push({ start: Number(tiered[2]) * 1000, value });
      tiers.set(base, list);
    } else flat.set(base, { value, factor: mapping.factor });
  }
  if (unstated.length) return { reason: `prices with no Tariff usage key: ${unstated.join(', ')}` };
  if (!priced) return { reason: 'states no price' };
  const prices: GenaiModel['prices'] = {};
  for (const [base, list] of tiers) {
    if (!flat.has(base))
      return {
        reason: `${base} has tiers (${list.map((tier) => `above ${tier.start / 1000}k tokens`).join(', ')}) but no base price`,
      };
  }
  for (const [base, { value, factor }] of flat) {
    const mapping = PRICE_KEYS[base]!;
    const scaled = (amount: Decimal) => amount.times(factor).toNumber();
    const list = tiers.get(base);
    prices[mapping.priceKey] = list
      ? {
          base: scaled(value),
          tiers: list
            .sort((left, right) => left.start - right.start)
            .map((tier) => ({ start: tier.start, price: scaled(tier.value) })),
        }
      : scaled(value);
  }
  // LiteLLM prices a cache hit at the cache read price whatever its modality; genai-prices needs that join stated.
  for (const modality of ['audio', 'image']) {
    const join = `cache_${modality}_read_mtok`;
    if (
      prices.cache_read_mtok !== undefined &&
      prices[`input_${modality}_mtok`] !== undefined &&
      prices[join] === undefined
    ) {
      prices[join] = prices.cache_read_mtok;
    }
  }
  return { prices };
}

function isZeroValued(value: unknown): boolean {
  if (typeof value === 'number') return value === 0;
  if (typeof value === 'object' && value !== null) return Object.values(value).every(isZeroValued);
  return false;
}
