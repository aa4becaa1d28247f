// Usage from streamed responses (server-sent events) on recorded-shape transcripts of each provider API: the same
// usage as the non-streamed body of the same call, however the bytes are chunked.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ServerSentEventParser, StreamUsageReader, usageFromStream } from '../../sdk/src/streams.ts';
import { usageFromResponse, UsageExtractionError } from '../../sdk/src/usage.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/streams');
const read = (name: string) => fs.readFileSync(path.join(dir, name));

const calls = [
  {
    name: 'OpenAI Chat Completions (include_usage)',
    provider: 'openai',
    file: 'openai-chat',
    expected: { input_tokens: 1342, cache_read_tokens: 1024, output_tokens: 7 },
  },
  {
    name: 'OpenAI Responses',
    provider: 'openai',
    file: 'openai-responses',
    expected: { input_tokens: 58, output_tokens: 212, output_reasoning_tokens: 192 },
  },
  {
    name: 'Anthropic Messages',
    provider: 'anthropic',
    file: 'anthropic-messages',
    expected: {
      input_tokens: 472 + 2048 + 10240,
      cache_write_tokens: 2048,
      cache_read_tokens: 10240,
      output_tokens: 319,
    },
  },
  {
    name: 'Gemini generateContent',
    provider: 'google',
    file: 'gemini-generate-content',
    expected: { input_tokens: 812, output_tokens: 11 + 306, output_reasoning_tokens: 306 },
  },
];

describe('usage from a streamed response', () => {
  for (const call of calls) {
    it(`${call.name}: equals the non-streamed usage of the same call, in one piece or in small chunks`, () => {
      const whole = usageFromResponse(call.provider, JSON.parse(read(`${call.file}.json`).toString('utf8')));
      const bytes = read(`${call.file}.sse`);
      const streamed = usageFromStream(call.provider, bytes.toString('utf8'));
      expect(streamed.usage).toEqual(whole.usage);
      expect(streamed.properties).toEqual(whole.properties);
      expect(streamed.usage).toMatchObject(call.expected);
      // Split at every 7th byte (multi-byte characters and CRLF pairs cut in two), as a socket may deliver them.
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += 7) chunks.push(new Uint8Array(bytes.subarray(i, i + 7)));
      expect(usageFromStream(call.provider, chunks).properties).toEqual(whole.properties);
    });
  }

  it('says what is missing when an OpenAI chat stream was not asked for usage', () => {
    const withoutUsage = read('openai-chat.sse')
      .toString('utf8')
      .split('\n\n')
      .filter((block) => !block.includes('"usage":{'))
      .join('\n\n');
    expect(() => usageFromStream('openai', withoutUsage)).toThrow(UsageExtractionError);
    expect(() => usageFromStream('openai', withoutUsage)).toThrow(/include_usage/);
  });

  it("takes Anthropic's message_delta counts over message_start's, and a last event without a trailing blank line", () => {
    const reader = new StreamUsageReader('anthropic');
    reader.push(
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-3-5-haiku-20241022","usage":{"input_tokens":10,"output_tokens":1}}}\n\n',
    );
    reader.push(
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":42}}',
    );
    expect(reader.usage().usage).toEqual({ input_tokens: 10, output_tokens: 42 });
  });

  it('parses multi-line data, comments and CR line ends as the event-stream format says', () => {
    const parser = new ServerSentEventParser();
    expect(parser.push(': keep-alive\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r')).toEqual([
      { event: 'x', data: 'a\nb' },
    ]);
    expect(parser.push('\r')).toEqual([{ data: 'c' }]);
  });
});
