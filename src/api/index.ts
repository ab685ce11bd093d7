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
  'graphql-query-complexity',
  'inversify',
  'jose',
]) {
  assertInstalled(name, 'eventfold/graphql');
}

import 'reflect-metadata';

export { API_SERVICES, type ApiContext, type ApiServices, type ApiUser, type LiveConnection, type ProjectionTracker } from './api-context';
export { createApi, GOING_AWAY_CLOSE_CODE, type Api, type ApiOptions, type ListeningApi, type Readiness } from './create-api';
export { composeApi } from './container';
export type { HttpApp, HttpHandler } from './http-app';
export {
  commandMutation,
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
export { connectionType, decodeCursor, encodeCursor, paginate, PageInfo, type Connection, type PageRequest } from './pagination';
export { requireAccess, type AccessRule } from './authorization';
export { createAuthenticator, type AuthOptions, type Authenticator } from './auth';
export {
  API_ERROR_CODES,
  ApiError,
  ForbiddenError,
  LimitExceededError,
  UnauthenticatedError,
  formatApiError,
  type ApiErrorCode,
  type FieldIssue,
} from './errors';
export { DEFAULT_API_LIMITS, aliasLimitRule, checkComplexity, depthLimitRule, limitRules, type ApiLimits } from './limits';
export type { ApiLogger } from './logger';
export type {
  ParkedEventInfo,
  ParkedEventsPage,
  ParkedEventsRequest,
  ReactorAdmin,
  ReactorStatusInfo,
  ReactorRedriveRequest,
} from './reactor-admin';
export type { AuditableAggregate } from './audit/audit-aggregate';
export { AuditEventView } from './audit/audit.types';
export type { ClassType } from './class-type';
