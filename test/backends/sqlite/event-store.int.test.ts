import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEventStore } from '../../../src/event-store';
import { runConformanceSuite } from '../../event-store/conformance';

const folder = mkdtempSync(join(tmpdir(), 'eventfold-sqlite-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let files = 0;
runConformanceSuite('SQLite', () => connectEventStore(`sqlite:${join(folder, `store-${files++}.db`)}`), {
  tortureSeeds: [1, 2, 3],
});
