// eventfold/eventstoredb: the EventStoreDB / KurrentDB backend. Everything that knows its gRPC client lives here.
import { assertInstalled } from '../../internal/optional-package';

assertInstalled('@eventstore/db-client', 'eventfold/eventstoredb');

export { EventStoreDbEventStore } from './eventstoredb-event-store';
