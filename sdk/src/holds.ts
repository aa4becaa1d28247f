// withHold: one provider call under a spend hold. The hold is placed from the request (the worst case: the prompt
// as estimated, the full max_tokens output), the call runs, its usage is read from the response (streamed or not),
// and the capture is sent as a usage event carrying the hold's id with hold_final, which settles the hold at
// ingestion (the unused part is released). A call that fails releases the hold.
import type { TariffClient, ResponseOf } from './client.ts';
import type { operations } from '@tariff/openapi';
import type { Estimator } from './estimator.ts';
import { StreamUsageReader } from './streams.ts';
import { usageFromResponse, type ExtractedUsage, type UsageOptions } from './usage.ts';

export type Hold = ResponseOf<operations['placeHold']>;
type IngestResult = ResponseOf<operations['ingestEvents']>;
export type CaptureOutcome = IngestResult['events'][number];

export interface HoldOptions {
  client: TariffClient;
  customerId: string;
  /** The provider as usageFromResponse names it: openai, anthropic, google (Gemini), ... */
  provider: string;
  /** The event type the call is metered as (default "llm.request"). */
  eventType?: string;
  /** The hold's id (idempotency: placing it again answers the same hold); random by default. */
  holdId?: string;
  /** The capturing event's transaction id; `${holdId}:capture` by default. */
  transactionId?: string;
  /** Seconds until the hold lapses if the process dies (the service's default when omitted). */
  expiresIn?: number;
  overrun?: 'charge' | 'refuse';
  /** When the request states no output limit: the output tokens to hold for (default 4096). */
  defaultMaxOutputTokens?: number;
  /** The model when the request body does not name it (Gemini names it in the URL). */
  model?: string;
  /** Extra event properties, on the estimate and the capture alike (e.g. project). */
  properties?: Record<string, string | number>;
  /** Which API shape the response has, for usageFromResponse. */
  usage?: UsageOptions;
  /** A local estimator to keep in step: it counts the hold while it is open (Estimator.trackHold). */
  estimator?: Estimator;
  now?: () => Date;
}

export interface HoldSettlement {
  usage: ExtractedUsage;
  outcome: CaptureOutcome;
}

export interface HoldRun<T> {
  /** What the call returned; a stream is handed back wrapped, passing every chunk through unchanged. */
  result: T;
  hold: Hold;
  /** The capture: settled once the usage is known (at once for a whole body, at the stream's end for a stream). */
  settled: Promise<HoldSettlement>;
}

/**
 * The event-shaped worst case of a provider request: the model, the prompt's tokens as estimated from its text
 * (a character count over three: generous for English, so rarely under), and the output limit it states
 * (OpenAI max_tokens / max_completion_tokens / max_output_tokens, Anthropic max_tokens, Gemini
 * generationConfig.maxOutputTokens), in the canonical usage keys usageFromResponse produces.
 */
export function estimateFromRequest(
  provider: string,
  request: Record<string, any>,
  options: Pick<HoldOptions, 'defaultMaxOutputTokens' | 'model' | 'eventType' | 'properties'> = {},
) {
  const model = options.model ?? (typeof request.model === 'string' ? request.model : undefined);
  const prompt = [
    request.messages,
    request.input,
    request.instructions,
    request.system,
    request.contents,
    request.systemInstruction,
    request.tools,
  ];
  const characters = prompt.reduce((n, part) => n + textLength(part), 0);
  const messages = [request.messages, request.contents, request.input].reduce(
    (n, list) => n + (Array.isArray(list) ? list.length : 0),
    0,
  );
  const limit =
    request.max_completion_tokens ??
    request.max_output_tokens ??
    request.max_tokens ??
    request.generationConfig?.maxOutputTokens ??
    options.defaultMaxOutputTokens ??
    4096;
  if (!Number.isInteger(limit) || limit < 0)
    throw new TypeError("the request's output limit must be a whole number of tokens");
  const id = provider.toLowerCase() === 'gemini' ? 'google' : provider.toLowerCase();
  return {
    event_type: options.eventType ?? 'llm.request',
    properties: {
      provider: id,
      ...(model === undefined ? {} : { model }),
      input_tokens: Math.ceil(characters / 3) + 8 * messages,
      output_tokens: limit,
      ...(options.properties ?? {}),
    } as Record<string, string | number>,
  };
}

function textLength(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((n, item) => n + textLength(item), 0);
  if (typeof value === 'object' && value !== null)
    return Object.values(value).reduce((n: number, item) => n + textLength(item), 0);
  return 0;
}

function isStream(value: unknown): value is AsyncIterable<string | Uint8Array> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/**
 * Places a hold for `request`, runs `call(request)`, and captures what it used. A whole JSON body is captured before
 * withHold returns; a stream (an async iterable of the SSE body's chunks, e.g. fetch's `response.body`) is captured
 * when the caller has read it to the end. A call or stream that fails releases the hold and rethrows.
 */
export async function withHold<T>(
  options: HoldOptions,
  request: Record<string, any>,
  call: (request: Record<string, any>) => Promise<T>,
): Promise<HoldRun<T>> {
  const { client, customerId } = options;
  const holdId = options.holdId ?? `hold_${globalThis.crypto.randomUUID()}`;
  const estimate = estimateFromRequest(options.provider, request, options);
  const hold = await client.placeHold({
    path: { id: customerId },
    body: {
      id: holdId,
      estimate,
      ...(options.expiresIn === undefined ? {} : { expires_in: options.expiresIn }),
      ...(options.overrun === undefined ? {} : { overrun: options.overrun }),
    },
  });
  options.estimator?.trackHold(customerId, hold);
  const release = async () => {
    options.estimator?.forgetHold(customerId, holdId);
    await client.releaseHold({ path: { id: customerId, hold_id: holdId } });
  };
  let result: T;
  try {
    result = await call(request);
  } catch (error) {
    await release().catch(() => {});
    throw error;
  }
  const capture = async (usage: ExtractedUsage): Promise<HoldSettlement> => {
    const event = {
      transaction_id: options.transactionId ?? `${holdId}:capture`,
      customer_id: customerId,
      event_type: estimate.event_type,
      timestamp: (options.now?.() ?? new Date()).toISOString(),
      properties: { ...usage.properties, ...(options.properties ?? {}) },
      hold_id: holdId,
      hold_final: true,
    };
    const answer = await client.ingestEvents({ body: { events: [event] } });
    const outcome = answer.events[0];
    options.estimator?.forgetHold(customerId, holdId);
    // A capture the hold refused (an overrun under "refuse"): nothing was stored, so the hold goes back.
    if (outcome.status === 'rejected') await client.releaseHold({ path: { id: customerId, hold_id: holdId } });
    return { usage, outcome };
  };

  if (!isStream(result)) {
    try {
      const settled = await capture(usageFromResponse(options.provider, result, options.usage));
      return { result, hold, settled: Promise.resolve(settled) };
    } catch (error) {
      await release().catch(() => {});
      throw error;
    }
  }

  const source = result;
  let settle!: (value: HoldSettlement) => void;
  let fail!: (error: unknown) => void;
  const settled = new Promise<HoldSettlement>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  settled.catch(() => {});
  const reader = new StreamUsageReader(options.provider, options.usage);
  async function* passThrough() {
    let completed = false;
    try {
      for await (const chunk of source) {
        reader.push(chunk);
        yield chunk;
      }
      completed = true;
    } catch (error) {
      await release().catch(() => {});
      fail(error);
      throw error;
    } finally {
      // Read to the end: capture what the stream said. Abandoned early: the provider may still bill the call, but
      // its usage is unknown here, so the hold is released (the tenant's reconciliation meters it).
      if (completed)
        capture(reader.usage()).then(settle, async (error) => {
          await release().catch(() => {});
          fail(error);
        });
      else
        await release().then(
          () => fail(new Error('the stream was abandoned before its end: the hold was released')),
          fail,
        );
    }
  }
  return { result: passThrough() as unknown as T, hold, settled };
}
