import type { z } from 'zod';
import { UnknownCommandError, ValidationError } from './errors';
import { messageShapeIssues } from './event-catalog';
import type { Message } from './message';
import { issuesOf } from './schema-issues';

/**
 * What a command needs of its stream before it is decided: `new` (the stream must not exist yet —
 * otherwise `ALREADY_EXISTS`), `existing` (it must exist — otherwise `NOT_FOUND`) or `any`.
 */
export type StreamExpectation = 'new' | 'existing' | 'any';

/**
 * A command type: the schema of its payload and what it expects of its stream.
 *
 * @example
 * const placeOrder: CommandDefinition = { schema: z.object({ customerId: z.string() }), stream: 'new' };
 */
export interface CommandDefinition<Schema extends z.ZodType = z.ZodType> {
  readonly schema: Schema;
  readonly stream: StreamExpectation;
}

/** Command types by their `type` string (imperative: `PlaceOrder`). */
export type CommandSchemas = { readonly [type: string]: CommandDefinition };

/** The union of commands a set of definitions defines. */
export type CommandsFrom<Definitions extends CommandSchemas> = {
  [Type in keyof Definitions & string]: Message<Type, z.output<Definitions[Type]['schema']>>;
}[keyof Definitions & string];

/**
 * The runtime schemas of an aggregate's commands.
 *
 * @example
 * const command = cartCommands.parse(JSON.parse(body)); // typed, or ValidationError / UnknownCommandError
 */
export interface CommandCatalog<Command extends Message = Message> {
  readonly types: readonly Command['type'][];
  /** What the command type expects of its stream. @throws UnknownCommandError */
  streamExpectation(type: string): StreamExpectation;
  /**
   * Checks an incoming command and returns it as its schema outputs it.
   * @throws UnknownCommandError for a type the catalog does not define.
   * @throws ValidationError naming every failing field.
   */
  parse(command: unknown): Command;
}

/** The command union of a catalog: `CommandOf<typeof cartCommands>`. */
export type CommandOf<Catalog> = Catalog extends CommandCatalog<infer Command> ? Command : never;

/**
 * Declares an aggregate's commands, keyed by type, each with its payload schema and what it expects of
 * its stream.
 *
 * @example
 * export const cartCommands = defineCommands({
 *   OpenCart: { schema: z.object({ cartId: z.string(), openedAt: z.iso.datetime() }), stream: 'new' },
 *   AddItem: { schema: z.object({ sku: z.string(), quantity: z.number().int().positive() }), stream: 'existing' },
 * });
 */
export function defineCommands<const Definitions extends CommandSchemas>(
  definitions: Definitions,
): CommandCatalog<CommandsFrom<Definitions>> {
  type Command = CommandsFrom<Definitions>;
  const compiled = new Map<string, CommandDefinition>();
  for (const [type, definition] of Object.entries(definitions)) {
    if (type.length === 0) throw new TypeError('a command type must be a non-empty string');
    if (!['new', 'existing', 'any'].includes(definition.stream)) {
      throw new TypeError(`command ${type}: stream must be 'new', 'existing' or 'any'`);
    }
    compiled.set(type, definition);
  }
  const types = [...compiled.keys()] as Command['type'][];
  const definitionOf = (type: string): CommandDefinition => {
    const definition = compiled.get(type);
    if (!definition) throw new UnknownCommandError(type, types);
    return definition;
  };

  return {
    types,
    streamExpectation: (type) => definitionOf(type).stream,
    parse(command) {
      const shapeIssues = messageShapeIssues(command);
      if (shapeIssues.length) throw new ValidationError('command', shapeIssues);
      const { type, data } = command as Message;
      const parsed = definitionOf(type).schema.safeParse(data);
      if (!parsed.success) throw new ValidationError(`command ${type}`, issuesOf(parsed.error, 'data'));
      return { type, data: parsed.data } as Command;
    },
  };
}
