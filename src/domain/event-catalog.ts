import { z } from 'zod';
import { InvalidStoredEventError, ValidationError, type ValidationIssue } from './errors';
import type { Message } from './message';
import { personalPaths, type PersonalDataSpec } from './personal-data';
import { issuesOf } from './schema-issues';

/**
 * One step of an event type's history: how to turn the stored shape of one version into the next.
 * `from` checks the old shape before `up` runs, so `up` gets typed, trusted data. Build it with
 * {@link upcaster}.
 *
 * @example
 * const step: Upcaster = upcaster(z.object({ qty: z.number() }), (v1) => ({ quantity: v1.qty }));
 */
export interface Upcaster {
  readonly from: z.ZodType;
  readonly up: (data: unknown) => unknown;
}

/**
 * Builds an {@link Upcaster} whose `up` is typed by the old schema.
 *
 * @example
 * const v1ToV2 = upcaster(z.object({ sku: z.string(), quantity: z.number() }), (v1) => ({ ...v1, unitPriceCents: 0 }));
 */
export function upcaster<From extends z.ZodType>(from: From, up: (data: z.output<From>) => unknown): Upcaster {
  return { from, up: up as (data: unknown) => unknown };
}

/**
 * An event type whose schema has changed: the current schema plus the chain that brings every older
 * stored version up to it. Version 1 is the first shape; the current version is `upcasters.length + 1`.
 * Stored events are never rewritten: they are upcast on every read.
 *
 * @example
 * const itemAdded: VersionedEvent = versioned(currentSchema, [v1ToV2, v2ToV3]);
 */
export interface VersionedEvent<Schema extends z.ZodType = z.ZodType> {
  readonly schema: Schema;
  /** `upcasters[0]` turns version 1 into 2, `upcasters[1]` turns 2 into 3, and so on. */
  readonly upcasters: readonly Upcaster[];
}

/**
 * Declares an event type with older stored versions.
 *
 * @example
 * const events = defineEvents({
 *   ItemAdded: versioned(z.object({ sku: z.string(), quantity: z.number(), unitPriceCents: z.number() }), [
 *     upcaster(z.object({ sku: z.string(), quantity: z.number() }), (v1) => ({ ...v1, unitPriceCents: 0 })),
 *   ]),
 * });
 */
export function versioned<Schema extends z.ZodType>(schema: Schema, upcasters: readonly Upcaster[]): VersionedEvent<Schema> {
  return { schema, upcasters };
}

/** Event types by their stored `type` string (never renamed: version it instead). */
export type EventSchemas = { readonly [type: string]: z.ZodType | VersionedEvent };

type DataOf<Definition> =
  Definition extends VersionedEvent<infer Schema> ? z.output<Schema> : Definition extends z.ZodType ? z.output<Definition> : never;

/** The union of events a set of schemas defines. */
export type EventsFrom<Schemas extends EventSchemas> = {
  [Type in keyof Schemas & string]: Message<Type, DataOf<Schemas[Type]>>;
}[keyof Schemas & string];

/**
 * An event as stored: its type, raw data and the schema version it was written with.
 *
 * @example
 * const stored: StoredEventShape = { type: 'ItemAdded', data: { sku: 'tea', quantity: 1 }, version: 1, location: 'cart-1@3' };
 */
export interface StoredEventShape {
  readonly type: string;
  readonly data: unknown;
  /** 1 for events written before the type was versioned. */
  readonly version: number;
  /** Where it sits, for error messages (`cart-1@3`). */
  readonly location?: string;
}

/**
 * The runtime schemas of an aggregate's events: validates events on the way in (from `decide`) and on
 * the way out of the store, upcasting old versions.
 *
 * @example
 * const cartEvents = defineEvents({ CartOpened: z.object({ cartId: z.string() }) });
 * type CartEvent = EventOf<typeof cartEvents>;
 * cartEvents.decode({ type: 'CartOpened', data: { cartId: 'c-1' }, version: 1 });
 */
export interface EventCatalog<Event extends Message = Message> {
  readonly types: readonly Event['type'][];
  has(type: string): boolean;
  /** The schema version new events of this type are written with. */
  currentVersion(type: string): number;
  /** Upcasts and validates a stored event. @throws InvalidStoredEventError */
  decode(stored: StoredEventShape): Event;
  /** Checks an event about to be written; returns it as the schema outputs it. @throws ValidationError */
  validate(event: unknown, subject: string): Event;
  /**
   * The personal fields of a type (declared with `personal()`) and how to name their subject; undefined
   * for a type without any. Optional for catalogs not built by {@link defineEvents}.
   */
  personalData?(type: string): PersonalDataSpec | undefined;
}

/**
 * Options of {@link defineEvents}. `subjects` names, per event type with personal fields, whose
 * personal data they are: the subject's key encrypts them, and forgetting the subject redacts them.
 *
 * @example
 * defineEvents({ OrderPlaced: placed }, { subjects: { OrderPlaced: (data) => data.customerId } });
 */
export interface EventCatalogOptions<Schemas extends EventSchemas> {
  readonly subjects?: { readonly [Type in keyof Schemas & string]?: (data: DataOf<Schemas[Type]>) => string };
}

/** The event union of a catalog: `EventOf<typeof cartEvents>`. */
export type EventOf<Catalog> = Catalog extends EventCatalog<infer Event> ? Event : never;

interface CompiledEvent {
  readonly schema: z.ZodType;
  readonly upcasters: readonly Upcaster[];
  readonly version: number;
  readonly personalData: PersonalDataSpec | undefined;
}

/**
 * Declares an aggregate's events, keyed by type. A plain schema is version 1; use {@link versioned}
 * once a type's shape changes.
 *
 * @example
 * export const cartEvents = defineEvents({
 *   CartOpened: z.object({ cartId: z.string(), openedAt: z.iso.datetime() }),
 *   ItemAdded: z.object({ sku: z.string(), quantity: z.number().int().positive() }),
 * });
 */
export function defineEvents<const Schemas extends EventSchemas>(
  schemas: Schemas,
  options: EventCatalogOptions<Schemas> = {},
): EventCatalog<EventsFrom<Schemas>> {
  type Event = EventsFrom<Schemas>;
  const compiled = new Map<string, CompiledEvent>();
  const subjects = (options.subjects ?? {}) as Readonly<Record<string, ((data: never) => string) | undefined>>;
  for (const [type, definition] of Object.entries(schemas)) {
    if (type.length === 0) throw new TypeError('an event type must be a non-empty string');
    const { schema, upcasters } = definition instanceof z.ZodType ? { schema: definition, upcasters: [] } : definition;
    if (!(schema instanceof z.ZodType)) throw new TypeError(`event type ${type} needs a zod schema`);
    compiled.set(type, { schema, upcasters, version: upcasters.length + 1, personalData: personalDataOf(type, schema, subjects[type]) });
  }
  for (const type of Object.keys(subjects)) {
    if (!compiled.has(type)) throw new TypeError(`subjects names ${JSON.stringify(type)}, which is not an event type of this catalog`);
  }
  const types = [...compiled.keys()] as Event['type'][];

  return {
    types,
    has: (type) => compiled.has(type),
    currentVersion(type) {
      const definition = compiled.get(type);
      if (!definition) throw new TypeError(`unknown event type ${JSON.stringify(type)}`);
      return definition.version;
    },
    decode({ type, data, version, location }) {
      const definition = compiled.get(type);
      if (!definition) {
        throw new InvalidStoredEventError(type, location, `has a type this aggregate does not define (known: ${types.join(', ')})`);
      }
      if (!Number.isInteger(version) || version < 1 || version > definition.version) {
        // A version from the future means newer code wrote it: folding it with old code would be a guess.
        throw new InvalidStoredEventError(
          type,
          location,
          `has schema version ${String(version)}; this code reads versions 1 to ${definition.version}`,
        );
      }
      let current: unknown = data;
      for (let step = version; step < definition.version; step++) {
        const upcast = definition.upcasters[step - 1]!;
        const old = upcast.from.safeParse(current);
        if (!old.success) {
          throw new InvalidStoredEventError(type, location, `does not match its version ${step} schema`, issuesOf(old.error, 'data'));
        }
        try {
          current = upcast.up(old.data);
        } catch (error) {
          throw new InvalidStoredEventError(type, location, `could not be upcast from version ${step}`, [], { cause: error });
        }
      }
      const parsed = definition.schema.safeParse(current);
      if (!parsed.success) {
        const reason = version === definition.version ? 'does not match its schema' : `upcast from version ${version} does not match the current schema`;
        throw new InvalidStoredEventError(type, location, reason, issuesOf(parsed.error, 'data'));
      }
      return { type, data: parsed.data } as Event;
    },
    validate(event, subject) {
      const shapeIssues = messageShapeIssues(event);
      if (shapeIssues.length) throw new ValidationError(subject, shapeIssues);
      const { type, data } = event as Message;
      const definition = compiled.get(type);
      if (!definition) {
        throw new ValidationError(subject, [{ path: 'type', message: `unknown event type ${JSON.stringify(type)} (known: ${types.join(', ')})` }]);
      }
      const parsed = definition.schema.safeParse(data);
      if (!parsed.success) throw new ValidationError(subject, issuesOf(parsed.error, 'data'));
      return { type, data: parsed.data } as Event;
    },
    personalData: (type) => compiled.get(type)?.personalData,
  };
}

/** A type's personal fields with its subject function; a type with personal fields and no subject is a mistake caught here. */
function personalDataOf(type: string, schema: z.ZodType, subjectOf: ((data: never) => string) | undefined): PersonalDataSpec | undefined {
  const paths = personalPaths(schema, `event type ${type}`);
  if (paths.length === 0) {
    if (subjectOf) throw new TypeError(`event type ${type} has a subject but no personal() fields`);
    return undefined;
  }
  if (typeof subjectOf !== 'function') {
    throw new TypeError(`event type ${type} has personal() fields: name their subject in defineEvents(..., { subjects: { ${type}: (data) => ... } })`);
  }
  return { paths, subjectOf: subjectOf };
}

/** Whether a value is shaped like `{ type: string, data }`; the issues say what is missing. */
export function messageShapeIssues(value: unknown): ValidationIssue[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ path: '', message: `expected an object { type, data }, got ${describeValue(value)}` }];
  }
  const issues: ValidationIssue[] = [];
  const { type } = value as { type?: unknown };
  if (typeof type !== 'string' || type.length === 0) {
    issues.push({ path: 'type', message: `expected a non-empty string, got ${describeValue(type)}` });
  }
  if (!('data' in value)) issues.push({ path: 'data', message: 'is missing' });
  return issues;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}
