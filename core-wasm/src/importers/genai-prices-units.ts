// The genai-prices unit registry (units.yml of the v2 catalogue): which usage key each price key prices, per how many
// units, and the dimensions whose containment makes the usage keys hierarchical. Checked against units.yml in the tests.

export interface GenaiPricesUnit {
  /** Usage counts one price unit covers, e.g. 1_000_000 tokens for an `_mtok` price. */
  readonly per: number;
  /** The key under a model's `prices`, e.g. `input_mtok` for the usage key `input_tokens`. */
  readonly priceKey: string;
  /**
   * What the unit is. A unit is an ancestor of another when its dimensions are a subset of the other's
   * (`input_tokens` contains `cache_read_tokens`); a unit without `direction` is neither input nor output.
   */
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Usage key -> unit, in the registry's order. */
export type GenaiPricesUnitRegistry = Readonly<Record<string, GenaiPricesUnit>>;

/** The registry as published with data.v2.json (2026-08-21 snapshot). */
export const GENAI_PRICES_UNITS: GenaiPricesUnitRegistry = {
  input_tokens: { per: 1_000_000, priceKey: 'input_mtok', dimensions: { family: 'tokens', direction: 'input' } },
  output_tokens: { per: 1_000_000, priceKey: 'output_mtok', dimensions: { family: 'tokens', direction: 'output' } },
  cache_read_tokens: {
    per: 1_000_000,
    priceKey: 'cache_read_mtok',
    dimensions: { family: 'tokens', direction: 'input', token_type: 'cache_read' },
  },
  cache_write_tokens: {
    per: 1_000_000,
    priceKey: 'cache_write_mtok',
    dimensions: { family: 'tokens', direction: 'input', token_type: 'cache_write' },
  },
  cache_write_5m_tokens: {
    per: 1_000_000,
    priceKey: 'cache_write_5m_mtok',
    dimensions: { family: 'tokens', direction: 'input', token_type: 'cache_write', cache_ttl: '5m' },
  },
  cache_write_1h_tokens: {
    per: 1_000_000,
    priceKey: 'cache_write_1h_mtok',
    dimensions: { family: 'tokens', direction: 'input', token_type: 'cache_write', cache_ttl: '1h' },
  },
  input_text_tokens: {
    per: 1_000_000,
    priceKey: 'input_text_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'text' },
  },
  output_text_tokens: {
    per: 1_000_000,
    priceKey: 'output_text_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'text' },
  },
  cache_text_read_tokens: {
    per: 1_000_000,
    priceKey: 'cache_text_read_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'text', token_type: 'cache_read' },
  },
  cache_text_write_tokens: {
    per: 1_000_000,
    priceKey: 'cache_text_write_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'text', token_type: 'cache_write' },
  },
  cache_text_write_5m_tokens: {
    per: 1_000_000,
    priceKey: 'cache_text_write_5m_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'text', token_type: 'cache_write', cache_ttl: '5m' },
  },
  cache_text_write_1h_tokens: {
    per: 1_000_000,
    priceKey: 'cache_text_write_1h_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'text', token_type: 'cache_write', cache_ttl: '1h' },
  },
  input_audio_tokens: {
    per: 1_000_000,
    priceKey: 'input_audio_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'audio' },
  },
  output_audio_tokens: {
    per: 1_000_000,
    priceKey: 'output_audio_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'audio' },
  },
  cache_audio_read_tokens: {
    per: 1_000_000,
    priceKey: 'cache_audio_read_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'audio', token_type: 'cache_read' },
  },
  cache_audio_write_tokens: {
    per: 1_000_000,
    priceKey: 'cache_audio_write_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'audio', token_type: 'cache_write' },
  },
  cache_audio_write_5m_tokens: {
    per: 1_000_000,
    priceKey: 'cache_audio_write_5m_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'audio', token_type: 'cache_write', cache_ttl: '5m' },
  },
  cache_audio_write_1h_tokens: {
    per: 1_000_000,
    priceKey: 'cache_audio_write_1h_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'audio', token_type: 'cache_write', cache_ttl: '1h' },
  },
  input_image_tokens: {
    per: 1_000_000,
    priceKey: 'input_image_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'image' },
  },
  output_image_tokens: {
    per: 1_000_000,
    priceKey: 'output_image_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'image' },
  },
  cache_image_read_tokens: {
    per: 1_000_000,
    priceKey: 'cache_image_read_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'image', token_type: 'cache_read' },
  },
  cache_image_write_tokens: {
    per: 1_000_000,
    priceKey: 'cache_image_write_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'image', token_type: 'cache_write' },
  },
  cache_image_write_5m_tokens: {
    per: 1_000_000,
    priceKey: 'cache_image_write_5m_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'image', token_type: 'cache_write', cache_ttl: '5m' },
  },
  cache_image_write_1h_tokens: {
    per: 1_000_000,
    priceKey: 'cache_image_write_1h_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'image', token_type: 'cache_write', cache_ttl: '1h' },
  },
  input_video_tokens: {
    per: 1_000_000,
    priceKey: 'input_video_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'video' },
  },
  output_video_tokens: {
    per: 1_000_000,
    priceKey: 'output_video_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'video' },
  },
  cache_video_read_tokens: {
    per: 1_000_000,
    priceKey: 'cache_video_read_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'video', token_type: 'cache_read' },
  },
  cache_video_write_tokens: {
    per: 1_000_000,
    priceKey: 'cache_video_write_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'video', token_type: 'cache_write' },
  },
  cache_video_write_5m_tokens: {
    per: 1_000_000,
    priceKey: 'cache_video_write_5m_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'video', token_type: 'cache_write', cache_ttl: '5m' },
  },
  cache_video_write_1h_tokens: {
    per: 1_000_000,
    priceKey: 'cache_video_write_1h_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'video', token_type: 'cache_write', cache_ttl: '1h' },
  },
  input_tool_tokens: {
    per: 1_000_000,
    priceKey: 'input_tool_mtok',
    dimensions: { family: 'tokens', direction: 'input', token_type: 'tool' },
  },
  input_text_tool_tokens: {
    per: 1_000_000,
    priceKey: 'input_text_tool_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'text', token_type: 'tool' },
  },
  input_audio_tool_tokens: {
    per: 1_000_000,
    priceKey: 'input_audio_tool_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'audio', token_type: 'tool' },
  },
  input_image_tool_tokens: {
    per: 1_000_000,
    priceKey: 'input_image_tool_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'image', token_type: 'tool' },
  },
  input_video_tool_tokens: {
    per: 1_000_000,
    priceKey: 'input_video_tool_mtok',
    dimensions: { family: 'tokens', direction: 'input', modality: 'video', token_type: 'tool' },
  },
  output_reasoning_tokens: {
    per: 1_000_000,
    priceKey: 'output_reasoning_mtok',
    dimensions: { family: 'tokens', direction: 'output', token_type: 'reasoning' },
  },
  output_text_reasoning_tokens: {
    per: 1_000_000,
    priceKey: 'output_text_reasoning_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'text', token_type: 'reasoning' },
  },
  output_audio_reasoning_tokens: {
    per: 1_000_000,
    priceKey: 'output_audio_reasoning_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'audio', token_type: 'reasoning' },
  },
  output_image_reasoning_tokens: {
    per: 1_000_000,
    priceKey: 'output_image_reasoning_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'image', token_type: 'reasoning' },
  },
  output_video_reasoning_tokens: {
    per: 1_000_000,
    priceKey: 'output_video_reasoning_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'video', token_type: 'reasoning' },
  },
  output_citation_tokens: {
    per: 1_000_000,
    priceKey: 'output_citation_mtok',
    dimensions: { family: 'tokens', direction: 'output', token_type: 'citation' },
  },
  output_text_citation_tokens: {
    per: 1_000_000,
    priceKey: 'output_text_citation_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'text', token_type: 'citation' },
  },
  output_audio_citation_tokens: {
    per: 1_000_000,
    priceKey: 'output_audio_citation_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'audio', token_type: 'citation' },
  },
  output_image_citation_tokens: {
    per: 1_000_000,
    priceKey: 'output_image_citation_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'image', token_type: 'citation' },
  },
  output_video_citation_tokens: {
    per: 1_000_000,
    priceKey: 'output_video_citation_mtok',
    dimensions: { family: 'tokens', direction: 'output', modality: 'video', token_type: 'citation' },
  },
  input_characters: {
    per: 1_000_000,
    priceKey: 'input_mchars',
    dimensions: { family: 'characters', direction: 'input' },
  },
  input_text_messages: {
    per: 1_000,
    priceKey: 'input_text_messages_kcount',
    dimensions: { family: 'messages', direction: 'input', modality: 'text' },
  },
  audio_seconds: { per: 3_600, priceKey: 'audio_hours', dimensions: { family: 'durations', modality: 'audio' } },
  input_audio_seconds: {
    per: 3_600,
    priceKey: 'input_audio_hours',
    dimensions: { family: 'durations', direction: 'input', modality: 'audio' },
  },
  output_audio_seconds: {
    per: 3_600,
    priceKey: 'output_audio_hours',
    dimensions: { family: 'durations', direction: 'output', modality: 'audio' },
  },
  input_pixels: { per: 1_000_000_000, priceKey: 'input_gpixels', dimensions: { family: 'pixels', direction: 'input' } },
  input_document_pages: {
    per: 1_000,
    priceKey: 'input_document_kpages',
    dimensions: { family: 'document_pages', direction: 'input' },
  },
  input_annotated_document_pages: {
    per: 1_000,
    priceKey: 'input_annotated_document_kpages',
    dimensions: { family: 'document_pages', direction: 'input', page_type: 'annotated' },
  },
  rerank_searches: { per: 1_000, priceKey: 'rerank_searches_kcount', dimensions: { family: 'rerank' } },
  web_searches: {
    per: 1_000,
    priceKey: 'web_searches_kcount',
    dimensions: { family: 'tool_calls', tool_type: 'web_search' },
  },
  social_searches: {
    per: 1_000,
    priceKey: 'social_searches_kcount',
    dimensions: { family: 'tool_calls', tool_type: 'social_search' },
  },
  storage_searches: {
    per: 1_000,
    priceKey: 'storage_searches_kcount',
    dimensions: { family: 'tool_calls', tool_type: 'storage_search' },
  },
  code_executions: {
    per: 1_000,
    priceKey: 'code_executions_kcount',
    dimensions: { family: 'tool_calls', tool_type: 'code_execution' },
  },
  requests: { per: 1_000, priceKey: 'requests_kcount', dimensions: { family: 'requests' } },
};
