import { isRedacted } from '../../src/domain';
import { personalDataEvents, SUBJECT_FORGOTTEN } from '../../src/personal-data';
import { defineCollection, defineProjection } from '../../src/projections';
import { profileEvents } from './profile';

export interface MemberView {
  memberId: string;
  name: string | null;
  city: string | null;
}

const members = defineCollection<MemberView>({ indexes: { memberId: 'text' } });

/** A read model that holds the name and city, and deletes them when their member is forgotten. */
export const membersProjection = defineProjection({
  name: 'members',
  version: 1,
  eventTypes: ['MemberJoined', SUBJECT_FORGOTTEN],
  events: profileEvents,
  collections: { members },
  handle(events, tx) {
    const docs = tx.documents('members');
    for (const event of events) {
      if (event.type === 'MemberJoined') {
        const { memberId, name, address } = event.data;
        docs.put(memberId, { memberId, name: isRedacted(name) ? null : name, city: address === undefined || isRedacted(address) ? null : address.city });
      } else if ((event.type as string) === SUBJECT_FORGOTTEN) {
        const forgotten = personalDataEvents.decode({ type: event.type, data: event.data, version: 1 });
        docs.delete(forgotten.data.subjectId);
      }
    }
  },
});
