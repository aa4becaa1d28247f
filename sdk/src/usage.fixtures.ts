// Provider response bodies shaped exactly as each provider documents them (the page is cited per fixture), with the
// canonical usage Tariff must read from them. Shared by usage.test.ts and the reference comparison in test/sdk.

export interface ResponseFixture {
  name: string;
  provider: string;
  /** The documented shape this body follows. */
  documented: string;
  body: Record<string, unknown>;
  options?: { flavor?: string; model?: string };
  flavor: string;
  model: string | undefined;
  usage: Record<string, number>;
}

export const RESPONSE_FIXTURES: ResponseFixture[] = [
  {
    name: 'OpenAI chat completion with a cached prompt',
    provider: 'openai',
    documented:
      'https://platform.openai.com/docs/api-reference/chat/object (the chat completion object; usage.prompt_tokens_details, usage.completion_tokens_details)',
    body: {
      id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
      object: 'chat.completion',
      created: 1741570283,
      model: 'gpt-4o-2024-08-06',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'The image shows a wooden boardwalk extending through a lush green marshland.',
            refusal: null,
            annotations: [],
          },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 1117,
        completion_tokens: 46,
        total_tokens: 1163,
        prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_fc9f1d7035',
    },
    flavor: 'chat',
    model: 'gpt-4o-2024-08-06',
    usage: {
      input_tokens: 1117,
      cache_read_tokens: 1024,
      input_audio_tokens: 0,
      output_audio_tokens: 0,
      output_reasoning_tokens: 0,
      output_tokens: 46,
    },
  },
  {
    name: 'OpenAI chat completion from a reasoning model',
    provider: 'openai',
    documented:
      'https://platform.openai.com/docs/guides/reasoning (completion_tokens_details.reasoning_tokens is part of completion_tokens)',
    body: {
      id: 'chatcmpl-AzTh8yF2qU9EOzn1uTqVbfQ8Xe0Lr',
      object: 'chat.completion',
      created: 1739266566,
      model: 'o3-mini-2025-01-31',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Here is a bash script that transposes the matrix...', refusal: null },
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 75,
        completion_tokens: 1186,
        total_tokens: 1261,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 1024,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_ef58bd3122',
    },
    flavor: 'chat',
    model: 'o3-mini-2025-01-31',
    usage: {
      input_tokens: 75,
      cache_read_tokens: 0,
      input_audio_tokens: 0,
      output_audio_tokens: 0,
      output_reasoning_tokens: 1024,
      output_tokens: 1186,
    },
  },
  {
    name: 'OpenAI chat completion with audio in and out',
    provider: 'openai',
    documented:
      'https://platform.openai.com/docs/guides/audio (gpt-4o-audio-preview; prompt_tokens_details.audio_tokens, completion_tokens_details.audio_tokens)',
    body: {
      id: 'chatcmpl-ArTHVJyRUTmTPbbS5qqzBsxyBJtAv',
      object: 'chat.completion',
      created: 1737145277,
      model: 'gpt-4o-audio-preview-2024-12-17',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            audio: {
              id: 'audio_678ae2c18bbc8191a1a1d9d06fbd47bb',
              data: 'UklGRkQ...',
              expires_at: 1737148881,
              transcript: 'Golden retrievers are wonderful dogs.',
            },
          },
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 126,
        completion_tokens: 186,
        total_tokens: 312,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 88, text_tokens: 38, image_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 152,
          text_tokens: 34,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_58887f9c5a',
    },
    flavor: 'chat',
    model: 'gpt-4o-audio-preview-2024-12-17',
    usage: {
      input_tokens: 126,
      cache_read_tokens: 0,
      input_audio_tokens: 88,
      output_audio_tokens: 152,
      output_reasoning_tokens: 0,
      output_tokens: 186,
    },
  },
  {
    name: 'OpenAI Responses API',
    provider: 'openai',
    documented:
      'https://platform.openai.com/docs/api-reference/responses/object (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens)',
    body: {
      id: 'resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41',
      object: 'response',
      created_at: 1741476777,
      status: 'completed',
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      model: 'o4-mini-2025-04-16',
      output: [
        { type: 'reasoning', id: 'rs_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41', summary: [] },
        {
          type: 'message',
          id: 'msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41',
          status: 'completed',
          role: 'assistant',
          content: [
            {
              type: 'output_text',
              text: 'The three largest moons of Jupiter are Ganymede, Callisto and Io.',
              annotations: [],
            },
          ],
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: 'medium', summary: null },
      store: true,
      temperature: 1.0,
      text: { format: { type: 'text' } },
      tool_choice: 'auto',
      tools: [],
      top_p: 1.0,
      truncation: 'disabled',
      usage: {
        input_tokens: 2848,
        input_tokens_details: { cached_tokens: 2048 },
        output_tokens: 1210,
        output_tokens_details: { reasoning_tokens: 896 },
        total_tokens: 4058,
      },
      user: null,
      metadata: {},
    },
    flavor: 'responses',
    model: 'o4-mini-2025-04-16',
    usage: { input_tokens: 2848, cache_read_tokens: 2048, output_reasoning_tokens: 896, output_tokens: 1210 },
  },
  {
    name: 'OpenAI image generation (gpt-image-1), which names no model',
    provider: 'openai',
    documented:
      'https://platform.openai.com/docs/api-reference/images/object (usage.input_tokens_details.text_tokens and image_tokens)',
    body: {
      created: 1713833628,
      data: [{ b64_json: 'iVBORw0KGgoAAAANSUhEUgAA...' }],
      background: 'transparent',
      output_format: 'png',
      size: '1024x1024',
      quality: 'high',
      usage: {
        total_tokens: 4310,
        input_tokens: 150,
        output_tokens: 4160,
        input_tokens_details: { text_tokens: 22, image_tokens: 128 },
      },
    },
    options: { model: 'gpt-image-1' },
    flavor: 'images',
    model: 'gpt-image-1',
    usage: { input_tokens: 150, input_text_tokens: 22, input_image_tokens: 128, output_tokens: 4160 },
  },
  {
    name: 'OpenAI embeddings',
    provider: 'openai',
    documented:
      'https://platform.openai.com/docs/api-reference/embeddings/create (response: object "list", usage.prompt_tokens)',
    body: {
      object: 'list',
      data: [{ object: 'embedding', embedding: [0.0023064255, -0.009327292, -0.0028842222], index: 0 }],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 8, total_tokens: 8 },
    },
    flavor: 'embeddings',
    model: 'text-embedding-3-small',
    usage: { input_tokens: 8 },
  },
  {
    name: 'Anthropic Messages with 5-minute and 1-hour cache writes, cache reads and web search',
    provider: 'anthropic',
    documented:
      'https://docs.anthropic.com/en/api/messages (usage: input_tokens, cache_creation_input_tokens, cache_read_input_tokens, cache_creation.ephemeral_5m_input_tokens / ephemeral_1h_input_tokens, output_tokens, server_tool_use.web_search_requests); input_tokens excludes the cached ones',
    body: {
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'text', text: 'Based on the search results, the first three results are...' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 2095,
        cache_creation_input_tokens: 10240,
        cache_read_input_tokens: 40960,
        cache_creation: { ephemeral_5m_input_tokens: 2048, ephemeral_1h_input_tokens: 8192 },
        output_tokens: 503,
        service_tier: 'standard',
        server_tool_use: { web_search_requests: 2 },
      },
    },
    flavor: 'default',
    model: 'claude-sonnet-4-5-20250929',
    usage: {
      input_tokens: 2095 + 10240 + 40960,
      cache_write_tokens: 10240,
      cache_write_5m_tokens: 2048,
      cache_write_1h_tokens: 8192,
      cache_read_tokens: 40960,
      web_searches: 2,
      output_tokens: 503,
    },
  },
  {
    name: 'Google Gemini generateContent with a cached prompt, an image and thinking',
    provider: 'google',
    documented:
      'https://ai.google.dev/api/generate-content#UsageMetadata (promptTokenCount, cachedContentTokenCount, candidatesTokenCount, thoughtsTokenCount, *TokensDetails as ModalityTokenCount lists; modelVersion)',
    body: {
      candidates: [
        {
          content: { parts: [{ text: 'The chart shows revenue rising 12% quarter on quarter.' }], role: 'model' },
          finishReason: 'STOP',
          index: 0,
        },
      ],
      usageMetadata: {
        promptTokenCount: 5243,
        candidatesTokenCount: 312,
        totalTokenCount: 6787,
        cachedContentTokenCount: 4096,
        thoughtsTokenCount: 1232,
        promptTokensDetails: [
          { modality: 'TEXT', tokenCount: 4985 },
          { modality: 'IMAGE', tokenCount: 258 },
        ],
        cacheTokensDetails: [{ modality: 'TEXT', tokenCount: 4096 }],
        candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: 312 }],
      },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'mCBJaPTOIJqOmNAP2fqZ2Ac',
    },
    flavor: 'default',
    model: 'gemini-2.5-flash',
    usage: {
      input_tokens: 5243,
      cache_read_tokens: 4096,
      cache_text_read_tokens: 4096,
      input_text_tokens: 4985,
      input_image_tokens: 258,
      output_text_tokens: 312,
      output_tokens: 312 + 1232,
      output_reasoning_tokens: 1232,
    },
  },
  {
    name: 'Mistral chat completion',
    provider: 'mistral',
    documented:
      'https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post (response 200: usage.prompt_tokens, completion_tokens, total_tokens)',
    body: {
      id: 'cmpl-e5cc70bb28c444948073e77776eb30ef',
      object: 'chat.completion',
      model: 'mistral-small-latest',
      usage: { prompt_tokens: 16, completion_tokens: 34, total_tokens: 50 },
      created: 1702256327,
      choices: [
        {
          index: 0,
          message: {
            content: 'The best French cheese depends on your taste...',
            tool_calls: null,
            prefix: false,
            role: 'assistant',
          },
          finish_reason: 'stop',
        },
      ],
    },
    flavor: 'default',
    model: 'mistral-small-latest',
    usage: { input_tokens: 16, output_tokens: 34 },
  },
  {
    name: 'Groq chat completion (timings beside the token counts)',
    provider: 'groq',
    documented:
      'https://console.groq.com/docs/api-reference#chat-create (usage with queue_time, prompt_time, completion_time, total_time; x_groq.id)',
    body: {
      id: 'chatcmpl-f51b2cd2-bef7-417e-964e-a08f0b513c22',
      object: 'chat.completion',
      created: 1730241104,
      model: 'llama-3.3-70b-versatile',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Fast language models have gained significant attention...' },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        queue_time: 0.037493756,
        prompt_tokens: 18,
        prompt_time: 0.000680594,
        completion_tokens: 556,
        completion_time: 0.463333333,
        total_tokens: 574,
        total_time: 0.464013927,
      },
      system_fingerprint: 'fp_179b0f92c9',
      x_groq: { id: 'req_01jbd6g2qdfw2adyrt2az8hz4w' },
    },
    flavor: 'default',
    model: 'llama-3.3-70b-versatile',
    usage: { input_tokens: 18, output_tokens: 556 },
  },
  {
    name: 'DeepSeek chat completion with context-cache hits and reasoning',
    provider: 'deepseek',
    documented:
      'https://api-docs.deepseek.com/api/create-chat-completion (usage.prompt_cache_hit_tokens, prompt_cache_miss_tokens, completion_tokens_details.reasoning_tokens)',
    body: {
      id: '930c60df-bf64-41c9-a88e-3ec75f81e00e',
      object: 'chat.completion',
      created: 1705651092,
      model: 'deepseek-reasoner',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Hello! How can I help you today?',
            reasoning_content: 'The user greets me...',
          },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        completion_tokens: 1093,
        prompt_tokens: 1364,
        prompt_cache_hit_tokens: 1280,
        prompt_cache_miss_tokens: 84,
        total_tokens: 2457,
        completion_tokens_details: { reasoning_tokens: 812 },
      },
      system_fingerprint: 'fp_5417b77867_prod0225',
    },
    flavor: 'chat',
    model: 'deepseek-reasoner',
    // cache_read_tokens comes from Tariff's fallback (usage.ts FALLBACKS): the catalogue reads only prompt_tokens_details.cached_tokens.
    usage: { input_tokens: 1364, cache_read_tokens: 1280, output_reasoning_tokens: 812, output_tokens: 1093 },
  },
  {
    name: 'Amazon Bedrock Converse with prompt caching (the body names no model)',
    provider: 'bedrock',
    documented:
      'https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax (usage: inputTokens, outputTokens, totalTokens, cacheReadInputTokens, cacheWriteInputTokens)',
    body: {
      output: { message: { role: 'assistant', content: [{ text: 'Here is a summary of the attached contract.' }] } },
      stopReason: 'end_turn',
      usage: {
        inputTokens: 1210,
        outputTokens: 301,
        totalTokens: 3559,
        cacheReadInputTokens: 1536,
        cacheWriteInputTokens: 512,
      },
      metrics: { latencyMs: 1873 },
    },
    options: { model: 'anthropic.claude-3-5-haiku-20241022-v1:0' },
    flavor: 'default',
    model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    usage: { input_tokens: 1210 + 1536 + 512, cache_read_tokens: 1536, cache_write_tokens: 512, output_tokens: 301 },
  },
  {
    name: 'Cohere v2 chat (billed units)',
    provider: 'cohere',
    documented:
      'https://docs.cohere.com/reference/chat (response: usage.billed_units.input_tokens / output_tokens and usage.tokens)',
    body: {
      id: 'c14c80c3-18eb-4519-9460-6c92edd8cfb4',
      finish_reason: 'COMPLETE',
      message: {
        role: 'assistant',
        content: [{ type: 'text', text: 'LLMs are neural networks trained on large text corpora...' }],
      },
      usage: {
        billed_units: { input_tokens: 17, output_tokens: 12 },
        tokens: { input_tokens: 215, output_tokens: 12 },
      },
    },
    options: { model: 'command-a-03-2025' },
    flavor: 'default',
    model: 'command-a-03-2025',
    usage: { input_tokens: 17, output_tokens: 12 },
  },
  {
    name: 'xAI chat completion from a reasoning model',
    provider: 'xai',
    documented:
      'https://docs.x.ai/docs/api-reference#chat-completions (usage.prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens counted apart from completion_tokens)',
    body: {
      id: 'a3d1008e-4544-40d4-d075-11527e794e4a',
      object: 'chat.completion',
      created: 1752854522,
      model: 'grok-4-0709',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: '101 multiplied by 3 is 303.', refusal: null },
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 32,
        completion_tokens: 9,
        total_tokens: 135,
        prompt_tokens_details: { text_tokens: 32, audio_tokens: 0, image_tokens: 0, cached_tokens: 6 },
        completion_tokens_details: {
          reasoning_tokens: 94,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
        num_sources_used: 0,
      },
      system_fingerprint: 'fp_3a7881249c',
    },
    flavor: 'chat',
    model: 'grok-4-0709',
    usage: {
      input_tokens: 32,
      cache_read_tokens: 6,
      output_audio_tokens: 0,
      output_tokens: 9 + 94,
      output_reasoning_tokens: 94,
    },
  },
];
