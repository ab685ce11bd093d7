// Lists every skipped test group with its title, which carries the reason (e.g. the EventStoreDB suite
// without EVENTSTORE_URL), so a suite that could not run is visible in the run's output, never a pass.
class SkipReporter {
  onRunComplete(_contexts, results) {
    const groups = new Map();
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        if (test.status !== 'pending' && test.status !== 'skipped' && test.status !== 'todo') continue;
        const title = test.ancestorTitles[0] ?? test.title;
        groups.set(title, (groups.get(title) ?? 0) + 1);
      }
    }
    if (groups.size === 0) return;
    const lines = [...groups].map(([title, count]) => `  ○ ${title}: ${count} test${count === 1 ? '' : 's'} not run`);
    process.stderr.write(`\nSkipped (not passed):\n${lines.join('\n')}\n`);
  }
}
module.exports = SkipReporter;
