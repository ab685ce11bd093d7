import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  isObjectType,
  isSpecifiedScalarType,
  Kind,
  parse,
  printSchema,
  visit,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { createResolversMap } from 'type-graphql';
import type { ApiContext } from './api-context';
import type { FederationOptions } from './federation-options';

/** The Federation 2 spec this subgraph links (the version Apollo Router and Cosmo compose). */
const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])';

type ResolverMap = Record<string, Record<string, unknown>>;

/**
 * The API's type-graphql schema rebuilt as a Federation 2 subgraph with `@apollo/subgraph`: the same
 * types and resolvers, `@key` on each entity type, `__resolveReference` from the options, and the
 * federation fields `_service` and `_entities`. Loaded only when `createApi({ federation })` asks.
 *
 * @example
 * const subgraph = federatedSchema(schema, { entities: { Ticket: { key: 'id', resolveReference: ({ id }) => tickets.get(String(id)) } } });
 */
export function federatedSchema(schema: GraphQLSchema, options: FederationOptions): GraphQLSchema {
  const entities = options.entities ?? {};
  for (const [name, entity] of Object.entries(entities)) {
    if (!isObjectType(schema.getType(name))) throw new TypeError(`federation.entities.${name}: the schema has no object type ${name}`);
    if (typeof entity.key !== 'string' || entity.key.trim() === '') throw new TypeError(`federation.entities.${name}.key must name the key fields, e.g. 'id'`);
    if (typeof entity.resolveReference !== 'function') throw new TypeError(`federation.entities.${name}.resolveReference must be a function`);
  }
  const printed = parse(printSchema(schema));
  const typeDefs: DocumentNode = visit(printed, {
    ObjectTypeDefinition(node) {
      const entity = entities[node.name.value];
      if (!entity) return undefined;
      return { ...node, directives: [...(node.directives ?? []), keyDirective(entity.key)] };
    },
  });
  const resolvers = createResolversMap(schema) as ResolverMap;
  // graphql's own scalars are the subgraph's already.
  for (const name of Object.keys(resolvers)) {
    const type = schema.getType(name);
    if (type && isSpecifiedScalarType(type)) delete resolvers[name];
  }
  for (const [name, entity] of Object.entries(entities)) {
    resolvers[name] = {
      ...resolvers[name],
      __resolveReference: (reference: Record<string, unknown>, context: ApiContext) => entity.resolveReference(reference, context),
    };
  }
  return buildSubgraphSchema({
    typeDefs: { kind: Kind.DOCUMENT, definitions: [...parse(FEDERATION_LINK).definitions, ...typeDefs.definitions] },
    resolvers: resolvers as never,
  });
}

function keyDirective(fields: string): ConstDirectiveNode {
  return {
    kind: Kind.DIRECTIVE,
    name: { kind: Kind.NAME, value: 'key' },
    arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'fields' }, value: { kind: Kind.STRING, value: fields } }],
  };
}
