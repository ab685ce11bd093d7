import type { Aggregate } from '../../domain/aggregate';

/** An aggregate the audit API can fold (`aggregateState`) and decode (`correlation`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AuditableAggregate = Aggregate<any, any, any>;
