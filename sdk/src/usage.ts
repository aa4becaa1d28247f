// Meters an LLM call straight from the provider's response body: the genai-prices catalogue's extractors (generated
// into extractors.gen.ts) say where each number lives and which canonical usage key it adds to.
import { EXTRACTORS, type ExtractorDefinition, type MatchClause, type PathStep } from './extractors.gen.ts';

export interface ExtractedUsage {
  /** The catalogue's provider id, e.g. "openai", "aws" (what a genai-prices book matches `provider` against). */
  provider: string;
  /** The extractor used, e.g. "chat" or "responses". */
  flavor: string;
  /**
   * The model as the response names it, lowercased and trimmed as genai-prices matches models (see
   * normalizeGenaiPricesReference in core-wasm's importer); undefined when the body names none (Bedrock Converse).
   */
  model: string | undefined;
  /**
   * Canonical usage keys, the property names the genai-prices importer prices: `input_tokens` is every input token
   * (cache reads and writes included), `cache_read_tokens`, `cache_write_tokens`, `cache_write_1h_tokens`,
   * `output_tokens` (reasoning included where the provider counts it there), `output_reasoning_tokens`,
   * `input_audio_tokens`, `input_image_tokens`, `web_searches`, ...
   */
  usage: Record<string, number>;
  /** `{ provider, model, ...usage }`: the properties of a usage event for this call. */
  properties: Record<string, string | number>;
}

export interface UsageOptions {
  /** Which API shape the body has ("chat", "responses", ...); by default the extractor that reads the most. */
  flavor?: string;
  /** The model, when the body does not name it (Bedrock's Converse API returns none). */
  model?: string;
}

/** A response body the extractor cannot read; `path` is the JSON path to blame, e.g. `usage.prompt_tokens`. */
export class UsageExtractionError extends Error {
  override readonly name = 'UsageExtractionError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path ? `${path}: ${message}` : message);
  }
}

/** Common names for catalogue providers. */
const ALIASES: Record<string, string> = {
  bedrock: 'aws',
  'aws-bedrock': 'aws',
  'amazon-bedrock': 'aws',
  gemini: 'google',
  'google-gemini': 'google',
  vertex: 'google',
  'vertex-ai': 'google',
  xai: 'x-ai',
  grok: 'x-ai',
  'azure-openai': 'azure',
  'mistral-ai': 'mistral',
  mistralai: 'mistral',
  together_ai: 'together',
  'together-ai': 'together',
  moonshot: 'moonshotai',
};

/**
 * Tariff's additions to the catalogue, applied only when the catalogue's mappings left the key without a value.
 * DeepSeek documents its cache hits as `usage.prompt_cache_hit_tokens` (api-docs.deepseek.com, "Create Chat
 * Completion"), which the catalogue's OpenAI-style `prompt_tokens_details.cached_tokens` mapping does not read:
 * without this, cache hits on a response shaped as documented would be priced as fresh input.
 */
const FALLBACKS: Record<string, Record<string, { path: PathStep[]; dest: string }[]>> = {
  deepseek: { chat: [{ path: ['prompt_cache_hit_tokens'], dest: 'cache_read_tokens' }] },
};

/** Providers the SDK can meter: every catalogue provider with extractors. */
export const USAGE_PROVIDERS: readonly string[] = Object.keys(EXTRACTORS);

/**
 * Maps the usage block of a provider's response to Tariff's canonical event properties.
 *
 *   const completion = await openai.chat.completions.create({ ... });
 *   const { properties } = usageFromResponse('openai', completion);
 *   await sender.send({ transaction_id: completion.id, customer_id, event_type: 'llm.request', timestamp, properties });
 */
export function usageFromResponse(provider: string, body: unknown, options: UsageOptions = {}): ExtractedUsage {
  if (typeof provider !== 'string') throw new UsageExtractionError('', 'provider must be a string, e.g. "openai"');
  const id = ALIASES[provider.toLowerCase()] ?? provider.toLowerCase();
  const extractors = EXTRACTORS[id];
  if (!extractors)
    throw new UsageExtractionError('', `unknown provider "${provider}"; known: ${USAGE_PROVIDERS.join(', ')}`);
  if (kindOf(body) !== 'object')
    throw new UsageExtractionError('', `the response body must be a JSON object, got ${kindOf(body)}`);

  let chosen: { extractor: ExtractorDefinition; usage: Record<string, number>; read: number } | undefined;
  if (options.flavor !== undefined) {
    const extractor = extractors.find((e) => e.flavor === options.flavor);
    if (!extractor)
      throw new UsageExtractionError(
        '',
        `${id} has no "${options.flavor}" API flavor; known: ${extractors.map((e) => e.flavor).join(', ')}`,
      );
    chosen = { extractor, ...extract(extractor, body as Record<string, unknown>) };
  } else {
    // The body's shape decides: among the extractors whose required numbers are all there, the one that reads most
    // (an image-generation body also satisfies the Responses extractor, but the images one reads its image tokens).
    let firstFailure: UsageExtractionError | undefined;
    for (const extractor of extractors) {
      try {
        const attempt = { extractor, ...extract(extractor, body as Record<string, unknown>) };
        if (!chosen || attempt.read > chosen.read) chosen = attempt;
      } catch (error) {
        if (!(error instanceof UsageExtractionError)) throw error;
        firstFailure ??= error;
      }
    }
    if (!chosen) {
      const flavors = extractors.map((e) => e.flavor).join(', ');
      throw new UsageExtractionError(
        firstFailure!.path,
        `${firstFailure!.message.slice(firstFailure!.path ? firstFailure!.path.length + 2 : 0)} (no ${id} API flavor fits this body: tried ${flavors})`,
      );
    }
  }

  const { extractor, usage } = chosen;
  for (const fallback of FALLBACKS[id]?.[extractor.flavor] ?? []) {
    if (usage[fallback.dest] !== undefined) continue;
    const value = read(resolve(body, extractor.root), fallback.path, pathText(extractor.root), false);
    if (value !== undefined) usage[fallback.dest] = value;
  }
  const named = readModel(body, extractor.model) ?? options.model;
  const model = named === undefined ? undefined : named.toLowerCase().trim();
  const properties: Record<string, string | number> = {
    provider: id,
    ...(model === undefined ? {} : { model }),
    ...usage,
  };
  return { provider: id, flavor: extractor.flavor, model, usage, properties };
}

/** Every mapping of one extractor; throws on a missing required number, as genai-prices' extractUsage does. */
function extract(
  extractor: ExtractorDefinition,
  body: Record<string, unknown>,
): { usage: Record<string, number>; read: number } {
  const root = resolve(body, extractor.root);
  if (root.error) throw new UsageExtractionError(root.path, root.error);
  const usage: Record<string, number> = {};
  let found = 0;
  for (const mapping of extractor.mappings) {
    const value = read(root, mapping.path, pathText(extractor.root), mapping.required);
    if (value === undefined) continue;
    found++;
    usage[mapping.dest] = (usage[mapping.dest] ?? 0) + value;
  }
  if (extractor.mappings.length > 0 && found === 0)
    throw new UsageExtractionError(pathText(extractor.root), 'no usage numbers found');
  return { usage, read: found };
}

interface Resolved {
  value: unknown;
  path: string;
  error?: string;
}

/** Walks a path from the body's top; the root must lead to an object. */
function resolve(body: unknown, path: PathStep[]): Resolved {
  let value: unknown = body;
  const walked: PathStep[] = [];
  for (const step of path) {
    walked.push(step);
    value = stepInto(value, step);
    if (value === undefined) return { value, path: pathText(walked), error: 'missing' };
  }
  if (kindOf(value) !== 'object')
    return { value, path: pathText(walked), error: `expected an object, got ${kindOf(value)}` };
  return { value, path: pathText(walked) };
}

/** A number under the root: a non-negative finite number, or undefined when absent and not required. */
function read(root: Resolved, path: PathStep[], prefix: string, required: boolean): number | undefined {
  if (root.error) return undefined;
  let value: unknown = root.value;
  const walked: PathStep[] = [];
  for (const step of path) {
    walked.push(step);
    const next = stepInto(value, step);
    if (next === undefined || next === null) {
      if (!required) return undefined;
      throw new UsageExtractionError(joinPath(prefix, pathText(walked)), 'missing (required)');
    }
    value = next;
  }
  if (typeof value !== 'number') {
    if (!required) return undefined;
    throw new UsageExtractionError(joinPath(prefix, pathText(path)), `expected a number, got ${kindOf(value)}`);
  }
  if (!Number.isFinite(value) || value < 0)
    throw new UsageExtractionError(joinPath(prefix, pathText(path)), `expected a non-negative number, got ${value}`);
  return value;
}

function readModel(body: unknown, path: PathStep[]): string | undefined {
  let value = body;
  for (const step of path) {
    value = stepInto(value, step);
    if (value === undefined) return undefined;
  }
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function stepInto(value: unknown, step: PathStep): unknown {
  if (typeof step === 'string')
    return kindOf(value) === 'object' ? (value as Record<string, unknown>)[step] : undefined;
  if (!Array.isArray(value)) return undefined;
  return value.find(
    (item) =>
      kindOf(item) === 'object' && typeof item[step.field] === 'string' && clauseHolds(step.match, item[step.field]),
  );
}

function clauseHolds(clause: MatchClause, value: string): boolean {
  if ('equals' in clause) return value === clause.equals;
  if ('starts_with' in clause) return value.startsWith(clause.starts_with);
  if ('ends_with' in clause) return value.endsWith(clause.ends_with);
  if ('contains' in clause) return value.includes(clause.contains);
  if ('regex' in clause) return new RegExp(clause.regex).test(value);
  if ('or' in clause) return clause.or.some((c) => clauseHolds(c, value));
  return clause.and.every((c) => clauseHolds(c, value));
}

function pathText(path: PathStep[]): string {
  return path
    .map((step) => (typeof step === 'string' ? step : `[${step.field}=${JSON.stringify(step.match)}]`))
    .join('.')
    .replace(/\.\[/g, '[');
}

function joinPath(prefix: string, rest: string): string {
  if (!prefix) return rest;
  if (!rest) return prefix;
  return rest.startsWith('[') ? prefix + rest : `${prefix}.${rest}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
