export default async function globalTeardown(): Promise<void> {
  await globalThis.eventfoldPostgres?.stop();
  globalThis.eventfoldPostgres = undefined;
}
