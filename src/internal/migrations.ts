/**
 * Versioned schema steps, shared by every module that keeps tables in the store's database (events,
 * reactor bookkeeping, …). Step N runs once, in the transaction that records version N in `table`.
 */
export interface Migrations {
  /** The table that records applied versions, one per module (e.g. `eventfold_schema`). */
  readonly table: string;
  readonly steps: readonly string[];
}
