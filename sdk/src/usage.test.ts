import { describe, expect, it } from 'vitest';
import { RESPONSE_FIXTURES } from './usage.fixtures.ts';
import { USAGE_PROVIDERS, UsageExtractionError, usageFromResponse } from './usage.ts';

describe('usageFromResponse on documented response bodies', () => {
  it.each(RESPONSE_FIXTURES.map((fixture) => [fixture.name, fixture] as const))('%s', (_, fixture) => {
    const extracted = usageFromResponse(fixture.provider, fixture.body, fixture.options);
    expect(extracted.flavor).toBe(fixture.flavor);
    expect(extracted.model).toBe(fixture.model);
    expect(extracted.usage).toEqual(fixture.usage);
    expect(extracted.properties).toEqual({
      provider: extracted.provider,
      ...(fixture.model ? { model: fixture.model } : {}),
      ...fixture.usage,
    });
  });

  it('covers OpenAI chat and responses, Anthropic, Google and more than two further providers', () => {
    const covered = new Set(
      RESPONSE_FIXTURES.map((f) => usageFromResponse(f.provider, f.body, f.options)).map(
        (u) => `${u.provider}/${u.flavor}`,
      ),
    );
    for (const required of ['openai/chat', 'openai/responses', 'anthropic/default', 'google/default'])
      expect(covered).toContain(required);
    const others = new Set(
      [...covered].map((key) => key.split('/')[0]).filter((p) => !['openai', 'anthropic', 'google'].includes(p)),
    );
    expect(others.size).toBeGreaterThanOrEqual(2);
  });

  it('names providers by their catalogue id, whatever alias the caller uses', () => {
    const bedrock = RESPONSE_FIXTURES.find((f) => f.provider === 'bedrock')!;
    expect(usageFromResponse('Bedrock', bedrock.body, bedrock.options).provider).toBe('aws');
    const gemini = RESPONSE_FIXTURES.find((f) => f.provider === 'google')!;
    expect(usageFromResponse('gemini', gemini.body).properties.provider).toBe('google');
    expect(USAGE_PROVIDERS).toEqual(
      expect.arrayContaining(['openai', 'anthropic', 'google', 'mistral', 'groq', 'deepseek', 'aws', 'cohere', 'x-ai']),
    );
  });

  it('lowercases and trims the model as genai-prices matches it, and prefers the body over the caller', () => {
    const chat = RESPONSE_FIXTURES[0];
    const shouted = { ...chat.body, model: '  GPT-4o-2024-08-06 ' };
    expect(usageFromResponse('openai', shouted, { model: 'ignored' }).model).toBe('gpt-4o-2024-08-06');
    const bedrock = RESPONSE_FIXTURES.find((f) => f.provider === 'bedrock')!;
    const anonymous = usageFromResponse('aws', bedrock.body);
    expect(anonymous.model).toBeUndefined();
    expect(anonymous.properties).not.toHaveProperty('model');
  });

  it('uses the flavor the caller names', () => {
    const responses = RESPONSE_FIXTURES.find((f) => f.flavor === 'responses')!;
    expect(usageFromResponse('openai', responses.body, { flavor: 'responses' }).usage.output_reasoning_tokens).toBe(
      896,
    );
  });
});

describe('usageFromResponse refuses what it cannot read, naming the field', () => {
  const chat = RESPONSE_FIXTURES[0].body as { usage: Record<string, unknown> };

  it('a required number missing for the flavor asked', () => {
    const { completion_tokens: _, ...usage } = chat.usage;
    expect(() => usageFromResponse('openai', { ...chat, usage }, { flavor: 'chat' })).toThrow(
      new UsageExtractionError('usage.completion_tokens', 'missing (required)'),
    );
  });

  it('no flavor fits: the first problem and every flavor tried', () => {
    const anthropic = RESPONSE_FIXTURES.find((f) => f.provider === 'anthropic')!.body as {
      usage: Record<string, unknown>;
    };
    const { output_tokens: _, ...usage } = anthropic.usage;
    const error = (() => {
      try {
        usageFromResponse('anthropic', { ...anthropic, usage });
      } catch (e) {
        return e as UsageExtractionError;
      }
    })()!;
    expect(error).toBeInstanceOf(UsageExtractionError);
    expect(error.path).toBe('usage.output_tokens');
    expect(error.message).toBe(
      'usage.output_tokens: missing (required) (no anthropic API flavor fits this body: tried default, chat)',
    );
  });

  it('a body without its usage block', () => {
    expect(() => usageFromResponse('google', { candidates: [] })).toThrow(
      'usageMetadata: missing (no google API flavor fits this body: tried default, anthropic, chat)',
    );
  });

  it('a negative or non-numeric count', () => {
    expect(() =>
      usageFromResponse('openai', { ...chat, usage: { ...chat.usage, prompt_tokens: -5 } }, { flavor: 'chat' }),
    ).toThrow('usage.prompt_tokens: expected a non-negative number, got -5');
    expect(() =>
      usageFromResponse('openai', { ...chat, usage: { ...chat.usage, prompt_tokens: '1117' } }, { flavor: 'chat' }),
    ).toThrow('usage.prompt_tokens: expected a number, got string');
  });

  it('an unknown provider or flavor, and a body that is not an object', () => {
    expect(() => usageFromResponse('acme-llm', {})).toThrow(
      /^unknown provider "acme-llm"; known: anthropic, aws, azure, /,
    );
    expect(() => usageFromResponse('openai', chat, { flavor: 'completions' })).toThrow(
      'openai has no "completions" API flavor; known: chat, responses, realtime, images, embeddings',
    );
    expect(() => usageFromResponse('openai', '{"usage":{}}')).toThrow(
      'the response body must be a JSON object, got string',
    );
  });
});
