import type { CliContext } from '../../src/cli/cli-context';
import { startProgress } from '../../src/cli/progress';
import { Captured } from './support/run-cli';

function context(tty: boolean, json = false): { context: CliContext; stdout: Captured; stderr: Captured } {
  const stdout = new Captured();
  const stderr = new Captured();
  stdout.isTTY = tty;
  return { context: { stdout, stderr, env: {}, json, signal: new AbortController().signal }, stdout, stderr };
}

describe('progress of long work', () => {
  it('draws a bar with the rate and the time left on a terminal', () => {
    const { context: tty, stdout } = context(true);
    const progress = startProgress(tty, 'copy', 'events');
    progress.update(0, 1_000);
    progress.update(500, 1_000);
    progress.update(1_000, 1_000);
    progress.stop();
    expect(stdout.text).toMatch(/copy [█░]+ 100% \| 1000\/1000 events \| \d+\/s \| ETA \d+s/);
  });

  it('writes plain lines elsewhere: at every tenth of the work and at the end, not at every step', () => {
    const { context: plain, stdout } = context(false);
    const progress = startProgress(plain, 'copy', 'events');
    for (let done = 0; done <= 1_000; done += 10) progress.update(done, 1_000);
    progress.stop();
    const lines = stdout.text.trim().split('\n');
    expect(lines.length).toBe(11);
    expect(lines[5]).toMatch(/^copy: 500\/1000 \(50%\) events, \d+\/s(, about \d+ s left)?$/);
    expect(lines.at(-1)).toMatch(/^copy: 1000\/1000 \(100%\) events, \d+\/s$/);
  });

  it('keeps standard output for the JSON under --json: progress lines go to standard error', () => {
    const { context: json, stdout, stderr } = context(true, true);
    const progress = startProgress(json, 'rebuild orders', 'events');
    progress.update(10, 10);
    expect(stdout.text).toBe('');
    expect(stderr.text).toMatch(/^rebuild orders: 10\/10 \(100%\) events/);
  });
});
