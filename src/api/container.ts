import { Container } from 'inversify';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray } from 'type-graphql';
import { API_SERVICES, type ApiServices } from './api-context';
import { AdminResolver } from './admin/admin.resolver';
import { TimersAdminResolver } from './admin/timers.resolver';
import { AuditResolver } from './audit/audit.resolver';
import { ReactorLogResolver } from './admin/reactor-log.resolver';
import { StoreBrowserResolver } from './audit/store-browser.resolver';
import type { ClassType } from './class-type';

/**
 * The one composition root: binds the API's services and every resolver in an inversify container,
 * and builds the type-graphql schema with resolvers taken from it. Nothing else calls
 * `container.get`.
 *
 * @example
 * const { container, schema } = await composeApi(services, [placeOrder, orderQuery], { parent: appContainer });
 */
export async function composeApi(
  services: ApiServices,
  resolvers: readonly ClassType[],
  options: { readonly parent?: Container; readonly builtIn?: boolean } = {},
): Promise<{ container: Container; schema: GraphQLSchema }> {
  const container = new Container({ defaultScope: 'Singleton', ...(options.parent ? { parent: options.parent } : {}) });
  container.bind<ApiServices>(API_SERVICES).toConstantValue(services);
  const all = [...(options.builtIn === false ? [] : [AuditResolver, AdminResolver, TimersAdminResolver, StoreBrowserResolver, ReactorLogResolver]), ...resolvers];
  if (all.length === 0) throw new TypeError('createApi needs at least one resolver');
  for (const resolver of all) container.bind(resolver).toSelf();
  const schema = await buildSchema({
    resolvers: all as unknown as NonEmptyArray<ClassType>,
    container: { get: (resolver: ClassType): unknown => container.get<unknown>(resolver) },
    validate: classValidatorConstraintsDeclared() ? { forbidUnknownValues: false } : false,
    // type-graphql would run the whole introspection query once to check the schema; Apollo Server runs
    // graphql-js' assertValidSchema on it before serving anyway, so the check only cost startup time.
    skipCheck: true,
    // Subscriptions are fed by the projections' change feed (`subscribe` + liveQuery), never by topics
    // published from resolvers; type-graphql still wants a pubSub, so it gets one that refuses.
    pubSub: {
      publish: () => {
        throw new TypeError('eventfold subscriptions are fed by the projections\' change feed; publishing to topics is not supported');
      },
      subscribe: () => {
        throw new TypeError('declare subscriptions with `subscribe` (documentSubscription, liveQuery), not with topics');
      },
    },
  });
  return { container, schema };
}

/**
 * Whether any class has declared a class-validator constraint. type-graphql validates object arguments
 * with class-validator, which it imports at the first such request (some 200 modules with its
 * validators and phone-number metadata, the larger part of a fresh process's first query). Every
 * constraint decorator registers in class-validator's one global metadata storage, created at the first
 * one: with no storage, validating would check nothing, so validation stays off. Resolvers and their
 * argument types are declared before the schema is built, so their constraints are already there.
 */
function classValidatorConstraintsDeclared(): boolean {
  return (globalThis as { classValidatorMetadataStorage?: unknown }).classValidatorMetadataStorage !== undefined;
}
