import { randomUUID } from 'node:crypto';
import type { GraphQLResolveInfo } from 'graphql';
import { injectable } from 'inversify';
import { Arg, Args, createParameterDecorator, Ctx, ID, Info, Mutation, Resolver } from 'type-graphql';
import { handleCommand } from '../commands/handle-command';
import { inOperation } from './tracing-plugin';
import type { Aggregate } from '../domain/aggregate';
import type { AuditableAggregate } from './audit/audit-aggregate';
import type { Message } from '../domain/message';
import type { JsonObject } from '../event-store/event-store';
import type { ApiContext, ApiUser } from './api-context';
import { requireAccess, type AccessRule } from './authorization';
import { CommandReceiptView } from './command-receipt.type';
import { ApiError, ForbiddenError, validatorIssues } from './errors';
import type { ClassType } from './class-type';
import { requireTenant, storedCommandId, storedStreamName } from './tenancy';

/**
 * What a mutation asks for: one command on one stream. Built from the GraphQL input by an explicit
 * function, so the GraphQL shape and the domain's command can evolve apart.
 *
 * @example
 * const intent: CommandIntent<OrderCommand> = { streamName: order.streamName('42'), command: { type: 'CancelOrder', data: { reason: 'duplicate' } } };
 */
export interface CommandIntent<Command> {
  readonly streamName: string;
  readonly command: Command;
  /** The workflow this command starts or continues; default: the command id. */
  readonly correlationId?: string;
  /** More metadata for the events (user id, tenant and roles are added by the API). */
  readonly metadata?: JsonObject;
}

/**
 * Decides whether the caller may run a command: return `false` (or throw a `ForbiddenError` with a
 * reason) to refuse. Runs after the input has become a command and before anything is read.
 *
 * @example
 * const onlyOwnOrders: CommandAuthorizer<OrderCommand> = (intent, { user }) => intent.streamName === order.streamName(user?.id ?? '');
 */
export type CommandAuthorizer<Command = Message> = (
  intent: CommandIntent<Command>,
  context: ApiContext & { readonly user: ApiUser | undefined },
) => boolean | void | Promise<boolean | void>;

/**
 * The command union of an aggregate.
 *
 * @example
 * type OrderCommand = AggregateCommand<typeof order>; // { type: 'PlaceOrder'; data: … } | …
 */
export type AggregateCommand<A> = A extends Aggregate<infer Command, infer _Event, infer _State> ? Command : never;

/**
 * One mutation's definition: `input` (one `input: <InputType>!` argument) or `args` (flat arguments),
 * and the rest of {@link CommandMutationOptions}.
 *
 * @example
 * const shipOrder: CommandMutationDefinition<ShipOrderInput, OrderCommand> = {
 *   name: 'shipOrder',
 *   input: ShipOrderInput,
 *   toCommand: (input) => ({ streamName: order.streamName(input.orderId), command: { type: 'ShipOrder', data: { shippedAt: input.shippedAt } } }),
 * };
 */
export type CommandMutationDefinition<Input extends object, Command extends Message> = CommandMutationOptions<Input, Command> &
  (
    | {
        /** A type-graphql `@InputType()` class: the mutation takes it as `input`; class-validator decorators on it are checked. */
        readonly input: ClassType<Input>;
        readonly args?: never;
      }
    | {
        /**
         * A type-graphql `@ArgsType()` class: its fields become the mutation's own arguments (next to
         * `commandId` and `waitFor`); class-validator decorators on it are checked.
         */
        readonly args: ClassType<Input>;
        readonly input?: never;
      }
  );

/**
 * What every command mutation takes besides its `input` or `args` class.
 *
 * @example
 * const common: Omit<CommandMutationOptions<PlaceOrderInput, OrderCommand>, 'name' | 'toCommand'> = { access: { roles: ['customer'] }, waitFor: ['order-summary'] };
 */
export interface CommandMutationOptions<Input extends object, Command extends Message> {
  /** The mutation's field name, e.g. `placeOrder`. */
  readonly name: string;
  readonly description?: string;
  /** Turns the input (or the arguments) into the command: the only place where the two shapes meet. */
  readonly toCommand: (input: Input, context: ApiContext) => CommandIntent<Command>;
  /** Default: any authenticated user. */
  readonly access?: AccessRule;
  /** The per-command authorization hook (the API-wide `authorizeCommand` runs too). */
  readonly authorize?: CommandAuthorizer<Command>;
  /**
   * Read-your-writes: answer only once these projections have processed the command's position. A
   * client can ask for others with the `waitFor` argument.
   */
  readonly waitFor?: readonly string[];
  /**
   * Whether the mutation offers clients the `waitFor` argument. Default true; false keeps the
   * mutation's arguments to the input (or args) and `commandId`, e.g. for a contract fixed elsewhere.
   */
  readonly waitForArgument?: boolean;
  /** How long `waitFor` may take before the mutation fails with `TIMEOUT`. Default 5,000 ms. */
  readonly waitTimeoutMs?: number;
}

/**
 * The mutations of one aggregate. Each `mutation(...)` declares a GraphQL mutation whose input becomes
 * a command through `toCommand`, runs through `handleCommand` and answers with a
 * {@link CommandReceiptView} after the durable append. Arguments: `input` (or, with `args`, the
 * fields of an `@ArgsType()` class), an optional `commandId` (also taken from the `Idempotency-Key`
 * header; the same id again returns the first receipt and writes nothing) and an optional `waitFor`
 * list of projections.
 *
 * (The aggregate comes first, in its own call, so that TypeScript knows the command union before it
 * reads `toCommand`, and `type: 'PlaceOrder'` needs no `as const`.)
 *
 * `toCommand` must be deterministic: a retry with the same `commandId` has to build the same command,
 * or it is refused as `COMMAND_ID_REUSED`. So times and ids come with the request (or from the events'
 * metadata, where the command layer stamps `time` from its clock), never from `new Date()` here.
 *
 * @example
 * const orders = commandMutations(order);
 * const placeOrder = orders.mutation({
 *   name: 'placeOrder',
 *   input: PlaceOrderInput, // an @InputType class with orderId, lines and placedAt
 *   toCommand: (input, context) => ({
 *     streamName: order.streamName(input.orderId),
 *     // placedAt comes from the client, so a retry builds the very same command
 *     command: { type: 'PlaceOrder', data: { customerId: context.user!.id, lines: input.lines, placedAt: input.placedAt } },
 *   }),
 *   access: { roles: ['customer'] },
 *   waitFor: ['order-summary'], // answer once the read model shows the order
 * });
 * // Flat arguments instead of `input`: cancelOrder(orderId: ID!, reason: String!, commandId: ID, waitFor: [String!])
 * const cancelOrder = orders.mutation({
 *   name: 'cancelOrder',
 *   args: CancelOrderArgs, // an @ArgsType class with orderId and reason
 *   toCommand: (args) => ({ streamName: order.streamName(args.orderId), command: { type: 'CancelOrder', data: { reason: args.reason } } }),
 * });
 * const api = await createApi({ ..., resolvers: [placeOrder, cancelOrder] });
 */
export function commandMutations<A extends AuditableAggregate>(aggregate: A): CommandMutations<AggregateCommand<A>> {
  return { mutation: (definition) => defineCommandMutation(aggregate, definition) };
}

/**
 * What {@link commandMutations} returns: declares one mutation per call.
 *
 * @example
 * const orders: CommandMutations<OrderCommand> = commandMutations(order);
 */
export interface CommandMutations<Command extends Message> {
  mutation<Input extends object>(definition: CommandMutationDefinition<Input, Command>): ClassType;
}

function defineCommandMutation<Input extends object, Command extends Message>(
  aggregate: AuditableAggregate,
  definition: CommandMutationDefinition<Input, Command>,
): ClassType {
  const { input: inputType, args: argsType } = definition as { input?: ClassType<Input>; args?: ClassType<Input> };
  if ((inputType === undefined) === (argsType === undefined)) {
    throw new TypeError(`command mutation ${definition.name}: give either \`input\` (an @InputType class) or \`args\` (an @ArgsType class)`);
  }
  // Validated in the resolver rather than by type-graphql, so that failing fields are named from the
  // argument: `input.title` for an input, `title` for flat arguments.
  const inputParameter = argsType ? Args(() => argsType, { validate: false }) : Arg('input', () => inputType!, { validate: false });
  const issuePrefix = argsType ? '' : 'input';
  // Without the argument the parameter stays (type-graphql passes parameters by position), always undefined.
  const waitForParameter =
    definition.waitForArgument === false
      ? createParameterDecorator(() => undefined)
      : Arg('waitFor', () => [String], {
          nullable: true,
          description: 'Answer only once these projections have processed the command (read-your-writes).',
        });

  @Resolver()
  @injectable()
  class CommandMutationResolver {
    @Mutation(() => CommandReceiptView, { name: definition.name, description: definition.description })
    async execute(
      @inputParameter input: Input,
      @Arg('commandId', () => ID, { nullable: true, description: 'Makes a retry safe: the same id returns the first receipt.' })
      commandId: string | null | undefined,
      @waitForParameter waitFor: string[] | null | undefined,
      @Ctx() context: ApiContext,
      @Info() info: GraphQLResolveInfo,
    ): Promise<CommandReceiptView> {
      const { services } = context;
      const user = requireAccess(context, definition.access);
      // With tenancy on, the tenant is the token's, and the command acts on that tenant's stream only.
      const tenantId = requireTenant(context);
      const invalid = await classValidator().validate(input, { forbidUnknownValues: false });
      if (invalid.length > 0) {
        const fields = validatorIssues(invalid, issuePrefix);
        throw new ApiError('BAD_USER_INPUT', `invalid ${argsType ? 'arguments' : 'input'}: ${fields.map((field) => `${field.path}: ${field.message}`).join('; ')}`, { fields });
      }
      const projections = waitFor ?? definition.waitFor ?? [];
      const known = new Set(services.projectionDefinitions.map((projection) => projection.name));
      const unknown = projections.filter((name) => !known.has(name));
      if (unknown.length > 0) {
        throw new ApiError('BAD_USER_INPUT', `waitFor names unknown projections: ${unknown.join(', ')}`, {
          fields: unknown.map((name) => ({ path: 'waitFor', message: `no projection named ${JSON.stringify(name)}` })),
        });
      }
      const intent = definition.toCommand(input, context);
      for (const hook of [services.authorizeCommand as CommandAuthorizer<Command> | undefined, definition.authorize]) {
        if (hook && (await hook(intent, context)) === false) throw new ForbiddenError(`not allowed to run ${definition.name}`);
      }
      const streamName = storedStreamName(tenantId, intent.streamName);
      // Under tenancy the id is made here when the caller brings none, so that the receipt's id is one
      // a retry can send back (it is stored qualified by the tenant).
      const clientCommandId =
        commandId ?? idempotencyCommandId(context, info) ?? (tenantId !== undefined ? (services.commands.newId ?? randomUUID)() : undefined);
      // Under tenancy the workflow is named by the caller's own id, not by how the command id is stored.
      const correlationId = intent.correlationId ?? (tenantId !== undefined ? clientCommandId : undefined);
      const receipt = await inOperation(context, () => handleCommand(services.commands, aggregate, {
        streamName,
        command: intent.command,
        commandId: storedCommandId(tenantId, clientCommandId),
        ...(correlationId !== undefined ? { correlationId } : {}),
        ...(user ? { userId: user.id } : {}),
        ...((tenantId ?? user?.tenantId) !== undefined ? { tenantId: tenantId ?? user?.tenantId } : {}),
        metadata: { ...intent.metadata, ...(user ? { roles: [...user.roles] } : {}) },
      }));
      const position = receipt.position;
      if (position && projections.length > 0) {
        const timeoutMs = definition.waitTimeoutMs ?? services.waitTimeoutMs;
        await Promise.all(projections.map((name) => services.projections.waitForPosition(name, position, { timeoutMs })));
      }
      // The receipt names the stream and the command as the caller did, not as they are stored.
      return CommandReceiptView.from({ ...receipt, streamName: intent.streamName, commandId: clientCommandId ?? receipt.commandId });
    }
  }
  Object.defineProperty(CommandMutationResolver, 'name', { value: `${definition.name}MutationResolver` });
  return CommandMutationResolver;
}

/**
 * The `Idempotency-Key` header is the command id of a request's only mutation; when one request runs
 * several mutations each gets `<key>/<response key>`, so they stay distinct and retries stay stable.
 */
function idempotencyCommandId(context: ApiContext, info: GraphQLResolveInfo): string | undefined {
  const key = context.idempotencyKey;
  if (key === undefined) return undefined;
  const rootFields = info.operation.selectionSet.selections.length;
  return rootFields > 1 ? `${key}/${String(info.path.key)}` : key;
}

/**
 * class-validator loads with the first mutation, not with the API: it is a large module (its phone
 * number tables alone), and an app whose inputs carry no validation decorators never needs it at start.
 */
function classValidator(): typeof import('class-validator') {
  // Kept once loaded: `require` resolves the module's path again on every call (stat and package.json
  // reads), which cost about 2% of a mutation's CPU.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  loadedClassValidator ??= require('class-validator') as typeof import('class-validator');
  return loadedClassValidator;
}

let loadedClassValidator: typeof import('class-validator') | undefined;
