export { PersonalDataError, InvalidSubjectError, PersonalDataUnreadableError, ErasureIncompleteError, type PersonalDataErrorCode } from './errors';
export type { KeyStore, KeyStoreHost, SubjectKey } from './key-store';
export { keyStoreFor } from './key-store-for';
export { InMemoryKeyStore } from './in-memory-key-store';
export { PersonalDataStore, protectPersonalData, type ForgetReceipt, type PersonalDataOptions } from './personal-data-store';
export { personalDataEvents, subjectStreamName, SUBJECT_FORGOTTEN, type PersonalDataEvent } from './subject';
