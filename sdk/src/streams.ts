// Usage from a streamed (server-sent events) LLM response, read as the chunks pass: OpenAI's final usage chunk
// (Chat Completions with stream_options.include_usage) or `response.completed` (Responses API), Anthropic's
// `message_start` usage updated by `message_delta`, Gemini's last `usageMetadata`. The reader rebuilds the
// usage-bearing part of the non-streamed body and hands it to usageFromResponse, so a streamed call is metered
// exactly as the same call without streaming.
import { usageFromResponse, UsageExtractionError, type ExtractedUsage, type UsageOptions } from './usage.ts';

export interface ServerSentEvent {
  event?: string;
  data: string;
}

/** Splits server-sent events as they arrive (any chunking, LF or CRLF), per the WHATWG event-stream format. */
export class ServerSentEventParser {
  private buffer = '';
  private readonly decoder = new TextDecoder();

  push(chunk: string | Uint8Array): ServerSentEvent[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: ServerSentEvent[] = [];
    for (;;) {
      const match = /\r\n\r\n|\n\n|\r\r/.exec(this.buffer);
      if (!match) break;
      const block = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = parseBlock(block);
      if (event) events.push(event);
    }
    return events;
  }

  /** The last event when the stream ends without a blank line. */
  end(): ServerSentEvent[] {
    const rest = this.buffer;
    this.buffer = '';
    const event = parseBlock(rest);
    return event ? [event] : [];
  }
}

function parseBlock(block: string): ServerSentEvent | undefined {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  return { ...(event === undefined ? {} : { event }), data: data.join('\n') };
}

type Json = Record<string, any>;

/** Accumulates one provider's stream into the usage-bearing part of its non-streamed body. */
export class StreamUsageReader {
  private readonly parser = new ServerSentEventParser();
  private readonly provider: string;
  private body: Json | undefined;
  private flavor: string | undefined;

  constructor(
    provider: string,
    private readonly options: UsageOptions = {},
  ) {
    this.provider = provider.toLowerCase();
  }

  push(chunk: string | Uint8Array): void {
    for (const event of this.parser.push(chunk)) this.take(event);
  }

  private take(event: ServerSentEvent): void {
    if (event.data === '[DONE]') return;
    let data: Json;
    try {
      data = JSON.parse(event.data);
    } catch {
      return; // keep-alives and provider comments that are not JSON
    }
    if (typeof data !== 'object' || data === null) return;
    switch (this.provider) {
      case 'openai':
      case 'azure':
        if (typeof data.type === 'string' && data.type.startsWith('response.')) {
          // Responses API: the completed (or incomplete) response carries the whole usage.
          if ((data.type === 'response.completed' || data.type === 'response.incomplete') && data.response) {
            this.body = data.response;
            this.flavor = 'responses';
          }
        } else if (data.usage) {
          // Chat Completions: the final chunk (choices empty) carries usage with include_usage.
          this.body = { model: data.model, usage: data.usage };
          this.flavor = 'chat';
        }
        return;
      case 'anthropic':
        if (data.type === 'message_start' && data.message) {
          this.body = { model: data.message.model, usage: { ...data.message.usage } };
        } else if (data.type === 'message_delta' && data.usage && this.body) {
          // Cumulative counts: what message_delta states replaces what message_start said.
          this.body = { ...this.body, usage: { ...this.body.usage, ...data.usage } };
        }
        return;
      default:
        // Gemini (google, gemini, vertex): every chunk may carry usageMetadata; the last one is complete.
        if (data.usageMetadata) this.body = { modelVersion: data.modelVersion, usageMetadata: data.usageMetadata };
    }
  }

  /** The rebuilt body, once the stream has said its usage. */
  usageBody(): Json | undefined {
    for (const event of this.parser.end()) this.take(event);
    return this.body;
  }

  /** The usage, read by usageFromResponse from the rebuilt body; throws when the stream never said it. */
  usage(): ExtractedUsage {
    const body = this.usageBody();
    if (!body) {
      const hint =
        this.provider === 'openai' ? ' (send stream_options: { include_usage: true } with Chat Completions)' : '';
      throw new UsageExtractionError('', `the ${this.provider} stream carried no usage${hint}`);
    }
    return usageFromResponse(this.provider, body, {
      ...this.options,
      ...(this.options.flavor === undefined && this.flavor ? { flavor: this.flavor } : {}),
    });
  }
}

/** Reads a whole recorded or buffered stream. */
export function usageFromStream(
  provider: string,
  stream: string | Uint8Array | (string | Uint8Array)[],
  options: UsageOptions = {},
): ExtractedUsage {
  const reader = new StreamUsageReader(provider, options);
  for (const chunk of Array.isArray(stream) ? stream : [stream]) reader.push(chunk);
  return reader.usage();
}
