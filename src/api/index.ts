// eventfold/graphql: the GraphQL API. Its libraries are optional peers of the package, so a user without
// GraphQL downloads none of them; a missing one fails here with its name, before anything loads it.
import { assertInstalled } from '../internal/optional-package';

for (const name of [
  'graphql',
  'type-graphql',
  'reflect-metadata',
  'class-validator',
  '@apollo/server',
  '@as-integrations/express5',
  'express',
  'graphql-ws',
  'ws',
  'graphql-scalars',
  'inversify',
  'jose',
]) {
  assertInstalled(name, 'eventfold/graphql');
}

import 'reflect-metadata';

export { API_SERVICES, type ApiContext, type ApiServices, type ApiUser, type LiveConnection, type ProjectionTracker } from './api-context';
export { createApi, type Api, type ListeningApi } from './create-api';
export type { ApiOptions } from './api-options';
export type { MetricsOptions } from './metrics-endpoint';
export type { FederatedEntity, FederationOptions } from './federation-options';
export type { PersistedOperationManifest } from './persisted-operations';
export type { HttpApp, HttpHandler } from './http-app';
export type { Readiness } from './readiness';
export { GOING_AWAY_CLOSE_CODE } from './websocket-server';
export {
  commandMutations,
  type AggregateCommand,
  type CommandAuthorizer,
  type CommandMutations,
  type CommandIntent,
  type CommandMutationDefinition,
  type CommandMutationOptions,
} from './command-mutation';
export { CommandReceiptView } from './command-receipt.type';
export {
  documentQuery,
  documentListQuery,
  documentSubscription,
  documentListSubscription,
  type DocumentQueryDefinition,
  type DocumentListQueryDefinition,
  type ReadModelSource,
} from './read-model-resolvers';
export { liveQuery, sharedRead, SLOW_CONSUMER_CLOSE_CODE, type LiveQueryOptions } from './live-query';
export { connectionType, paginate, PageInfo, type Connection, type PageRequest } from './pagination';
export { requireAccess, type AccessRule } from './authorization';
export type { AuthOptions } from './auth';
export {
  API_ERROR_CODES,
  ApiError,
  ForbiddenError,
  LimitExceededError,
  UnauthenticatedError,
  type ApiErrorCode,
  type FieldIssue,
  type PersistedQueryErrorCode,
} from './errors';
export { DEFAULT_API_LIMITS, type ApiLimits } from './limits';
export type { ApiLogger } from './logger';
export type {
  InvocationInfo,
  InvocationsRequest,
  ParkedEventInfo,
  ParkedEventsPage,
  ParkedEventsRequest,
  ReactorAdmin,
  ReactorStatusInfo,
  ReactorRedriveRequest,
  TimerInfo,
  TimersPage,
  TimersRequest,
} from './reactor-admin';
export type { AuditableAggregate } from './audit/audit-aggregate';
export { AuditEventView } from './audit/audit.types';
export type { ClassType } from './class-type';
export { requireTenant, tenantReader, type TenancyOptions } from './tenancy';
