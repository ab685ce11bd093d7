export {
  defineReactor,
  DEFAULT_REACTOR_RETRY,
  type DeliveryInfo,
  type Reactor,
  type ReactorCommand,
  type ReactorContext,
  type ReactorDefinition,
  type ReactorEvent,
  type ReactorHandler,
  type ReactorLogger,
  type ReactorOptions,
  type ReactorOrdering,
  type ReactorRetryPolicy,
} from './reactor';
export {
  ReactorError,
  InvalidReactorError,
  UnknownReactorError,
  NonRetryableError,
  RetryLaterError,
  WebhookDeliveryError,
  InvalidSignatureError,
  InvalidDeliveryError,
  RunnerStoppedError,
  ReactorWaitTimeoutError,
  ReactorVerificationError,
  type ReactorErrorCode,
  type ReactorErrorInfo,
} from './errors';
export { ReactorRunner } from './reactor-runner';
export type { InvocationLogOptions, PartitionOptions, ReactorRunnerOptions, ReactorStatus, WorkerStatus } from './runner-types';
export type {
  Invocation,
  InvocationQuery,
  LeaseGrant,
  LeaseInfo,
  ParkedEvent,
  ParkedEventRecord,
  ParkedPage,
  ParkedQuery,
  ReactorStateStore,
  RedriveParkedRequest,
} from './reactor-state-store';
export { InMemoryReactorStateStore } from './in-memory-reactor-state-store';
export { systemClock, type Clock } from './clock';
export { InMemoryTimerStore } from './in-memory-timer-store';
export {
  defineProcess,
  type ProcessCommand,
  type ProcessDecision,
  type ProcessDefinition,
  type ProcessEvent,
  type ProcessTimer,
} from './process';
export type { ScheduleOptions } from './timer-scheduler';
export {
  timerCommandId,
  type HandledEvent,
  type StoredTimer,
  type TimerChange,
  type TimerOutcome,
  type TimerPage,
  type TimerProgressWriter,
  type TimerQuery,
  type TimerRecord,
  type TimerSettlement,
  type TimerStatus,
  type TimerStore,
} from './timer-store';
export { partitionOf } from './partitions';
export { reactorCommandId } from './send-command';
export { defineWebhookReactor, type WebhookReactor, type WebhookReactorOptions } from './webhook-reactor';
export {
  createHttpFunction,
  createLambdaHandler,
  handleSignedDelivery,
  type DeliveryResponse,
  type HttpFunction,
  type HttpFunctionOptions,
  type LambdaHttpEvent,
  type LambdaHttpResult,
} from './http-function';
export { parseDelivery, type DeliveryPayload } from './delivery-payload';
export {
  signDelivery,
  verifySignature,
  SIGNATURE_HEADER,
  IDEMPOTENCY_HEADER,
  DEFAULT_TOLERANCE_SECONDS,
  type VerifySignatureOptions,
} from './signature';
