import { z } from 'zod';
import { defineEvents, type EventOf } from '../domain/event-catalog';
import { InvalidSubjectError } from './errors';
import { MAX_SUBJECT_ID_LENGTH } from './key-store';

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Checks a data subject's id: a non-empty string of at most 200 characters without control characters.
 *
 * @throws InvalidSubjectError
 */
export function checkSubjectId(subjectId: unknown, where: string): asserts subjectId is string {
  if (typeof subjectId !== 'string' || subjectId.length === 0) {
    throw new InvalidSubjectError(`${where}: a subject id must be a non-empty string, got ${subjectId === null ? 'null' : typeof subjectId}`);
  }
  if (subjectId.length > MAX_SUBJECT_ID_LENGTH) {
    throw new InvalidSubjectError(`${where}: a subject id is at most ${MAX_SUBJECT_ID_LENGTH} characters, got ${subjectId.length}`);
  }
  if (CONTROL_CHARACTERS.test(subjectId)) throw new InvalidSubjectError(`${where}: a subject id must not contain control characters`);
}

/** The category of the streams `forgetSubject` writes to: `subject-<subjectId>`. */
export const SUBJECT_CATEGORY = 'subject';

/**
 * The stream a subject's `SubjectForgotten` events go to.
 *
 * @example
 * subjectStreamName('c-42'); // 'subject-c-42'
 */
export function subjectStreamName(subjectId: string): string {
  return `${SUBJECT_CATEGORY}-${subjectId}`;
}

/**
 * The events of the personal-data layer. `SubjectForgotten` is appended by `forgetSubject` once the
 * subject's keys are destroyed, so that projections and reactors delete or blank what they derived
 * from the subject's personal data (a read-model row holding a name). Give a projection this catalog's
 * types in `eventTypes` and handle them.
 *
 * @example
 * if (event.type === SUBJECT_FORGOTTEN) await removeCustomer(tx, event.data.subjectId);
 */
export const personalDataEvents = defineEvents({
  SubjectForgotten: z.object({
    subjectId: z.string().min(1),
    /** How many keys were destroyed (0: the subject had none, or a retried forget). */
    keysDestroyed: z.number().int().nonnegative(),
  }),
});

/** The type string of the event `forgetSubject` appends. */
export const SUBJECT_FORGOTTEN = 'SubjectForgotten' as const;

/** `SubjectForgotten` as a projection or reactor reads it. */
export type PersonalDataEvent = EventOf<typeof personalDataEvents>;
