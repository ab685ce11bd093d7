import { z } from 'zod';

/**
 * What a personal field reads as once its subject was forgotten (its key destroyed): the value is
 * gone for good, and every reader gets this object in its place. The schema of a {@link personal}
 * field accepts it, so deciders and projections see it typed and handle it with {@link isRedacted}.
 *
 * @example
 * const name = isRedacted(event.data.customerName) ? null : event.data.customerName;
 */
export interface Redacted {
  readonly redacted: true;
  /** Why the value is gone. `forgotten`: `forgetSubject` destroyed the subject's key. */
  readonly reason: 'forgotten';
}

/** The stored and parsed form of a redacted value. */
export const redactedSchema = z.object({ redacted: z.literal(true), reason: z.literal('forgotten') }).strict();

/** The one redacted value readers get. */
export const REDACTED: Redacted = Object.freeze({ redacted: true, reason: 'forgotten' });

/**
 * Whether a personal field's value was redacted.
 *
 * @example
 * if (isRedacted(event.data.deliveryAddress)) view.deliveryAddress = null;
 */
export function isRedacted(value: unknown): value is Redacted {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as { redacted?: unknown }).redacted === true &&
    (value as { reason?: unknown }).reason === 'forgotten'
  );
}

/** Marks the schemas {@link personal} built; the event catalog looks them up to know what to encrypt. */
const personalFields = z.registry<{ readonly personal: true }>();

/** A personal field's schema: the value's own, or {@link Redacted}. */
export type PersonalSchema<Schema extends z.ZodType> = z.ZodUnion<readonly [Schema, typeof redactedSchema]>;

/**
 * Declares a field of an event as personal data of the event's subject (named by the catalog's
 * `subjects`): a store wrapped with `protectPersonalData` encrypts it at append with the subject's key,
 * and reads give it back, or {@link Redacted} once the subject was forgotten. Use it on fields of
 * objects (nested objects too); to protect items of an array, mark the whole array.
 *
 * @example
 * const orderPlaced = z.object({ orderId: z.string(), customerId: z.string(), customerName: personal(z.string()).optional() });
 */
export function personal<Schema extends z.ZodType>(schema: Schema): PersonalSchema<Schema> {
  const field = z.union([schema, redactedSchema]);
  personalFields.add(field, { personal: true });
  return field;
}

/** A path from an event's `data` to a personal field: `['customer', 'name']`. */
export type PersonalPath = readonly string[];

/** Wrappers that keep their inner schema's fields where they are. */
const TRANSPARENT = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/**
 * The paths of an event schema's personal fields, found through objects and the wrappers that keep
 * a field in place (optional, nullable, default, readonly). A personal field anywhere else (inside an
 * array, a union, a record) would go unencrypted, so it is refused.
 *
 * @throws TypeError naming where such a field sits.
 */
export function personalPaths(schema: z.ZodType, where: string): PersonalPath[] {
  const paths: PersonalPath[] = [];
  const visit = (current: z.ZodType, path: string[]): void => {
    if (personalFields.has(current)) {
      paths.push(path);
      return;
    }
    const def = current._zod.def as { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> };
    if (TRANSPARENT.has(def.type) && def.innerType) return visit(def.innerType, path);
    if (def.type === 'object' && def.shape) {
      for (const [key, field] of Object.entries(def.shape)) visit(field, [...path, key]);
      return;
    }
    if (containsPersonal(current, new Set())) {
      throw new TypeError(
        `${where}: the personal field at ${path.join('.') || '(root)'} sits inside a ${def.type}; mark the whole ${def.type} personal instead`,
      );
    }
  };
  visit(schema, []);
  return paths;
}

/** Whether a personal field sits anywhere under `schema` (each schema visited once). */
function containsPersonal(schema: z.ZodType, seen: Set<z.ZodType>): boolean {
  if (seen.has(schema)) return false;
  seen.add(schema);
  if (personalFields.has(schema)) return true;
  const def = schema._zod.def as unknown as Record<string, unknown>;
  const children: unknown[] = [];
  for (const key of ['innerType', 'element', 'in', 'out', 'keyType', 'valueType', 'left', 'right', 'rest']) children.push(def[key]);
  for (const key of ['options', 'items']) if (Array.isArray(def[key])) children.push(...(def[key] as unknown[]));
  if (def.shape && typeof def.shape === 'object') children.push(...Object.values(def.shape as Record<string, unknown>));
  return children.some((child) => child instanceof z.ZodType && containsPersonal(child, seen));
}

/** What a catalog knows about one event type's personal data. */
export interface PersonalDataSpec {
  /** Where the personal fields sit in `data`. */
  readonly paths: readonly PersonalPath[];
  /** Names the data subject (whose key encrypts the fields) from the event's data. */
  subjectOf(data: unknown): unknown;
}
