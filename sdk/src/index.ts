// The SDK's browser and edge-worker entry: nothing here may import a Node built-in (test/sdk/bundle.test.ts checks).
export {
  TariffClient,
  TariffError,
  operationRoutes,
  isRetryableStatus,
  type ClientOptions,
  type RetryPolicy,
  type RequestOptions,
  type RequestInput,
  type ResponseOf,
  type OperationMethods,
  type OperationRoutes,
  type HttpMethod,
} from './client.ts';
export {
  EventSender,
  SenderFullError,
  SenderCloseTimeoutError,
  type SenderOptions,
  type SenderStats,
  type Rejection,
  type UsageEvent,
  type EventOutcome,
} from './sender.ts';
export {
  usageFromResponse,
  UsageExtractionError,
  USAGE_PROVIDERS,
  type ExtractedUsage,
  type UsageOptions,
} from './usage.ts';
export { systemClock, backoffDelay, parseRetryAfter, type Clock, type BackoffPolicy } from './retry.ts';
export {
  Estimator,
  withQuote,
  type EstimatorOptions,
  type EstimatedEvent,
  type LimitBlock,
  type OnBlock,
  type CheckOptions,
  type CheckResult,
  type PricingSnapshot,
  type Quote,
  type SnapshotInfo,
  type SnapshotToken,
  type ServerEstimatorOptions,
} from './estimator.ts';
export {
  Kernel,
  withZoneTransitions,
  compileBook,
  type PriceBook,
  type CompiledBook,
  type CustomerState,
  type StateMap,
  type RatedEvent,
  type ReceiptStep,
} from '@tariff/core-wasm';
export {
  withHold,
  estimateFromRequest,
  type HoldOptions,
  type HoldRun,
  type HoldSettlement,
  type Hold,
  type CaptureOutcome,
} from './holds.ts';
export { usageFromStream, StreamUsageReader, ServerSentEventParser, type ServerSentEvent } from './streams.ts';
