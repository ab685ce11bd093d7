import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import type { CliContext } from './cli-context';
import type { CommandGroup } from './commands';
import { archiveCommands } from './commands/archive';
import { auditCommands } from './commands/audit';
import { copyCommands } from './commands/copy';
import { runtimeCommands } from './commands/runtime';
import { storeCommands } from './commands/store';
import { timersCommands } from './commands/timers';
import { errorCategory } from '../internal/eventfold-error';
import { CliExit, EXIT_FAILURE_FOUND, EXIT_OK, EXIT_USAGE } from './exit-codes';

/** The command groups, in help order. Add a group by writing its file in `commands/` and listing it here. */
const groups: readonly CommandGroup[] = [
  storeCommands,
  copyCommands,
  auditCommands,
  archiveCommands,
  runtimeCommands,
  timersCommands,
];

/** Builds the `eventfold` program. Commander's own exits become {@link CliExit} so nothing calls `process.exit`. */
export function buildProgram(context: CliContext): Command {
  const program = new Command('eventfold')
    .description('Operate an eventfold event store and a running eventfold app.')
    .version(packageVersion(), '-V, --version', "print eventfold's version")
    .option('--json', 'machine-readable output (one JSON document per line)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    })
    .hook('preAction', (command) => {
      context.json = Boolean(command.optsWithGlobals().json);
    });
  for (const group of groups) group(program, context);
  return program;
}

/** The package's version, from its package.json (two folders up from src/cli and dist/cli alike). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CliExit) {
      if (error.message) context.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof CommanderError) {
      // --help and --version end with code 0; every other commander error is a usage error.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    context.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    // Bad input (a malformed stream name, position, event) and an unreachable store are usage or
    // connection errors; anything else the command met is a failure it found.
    const category = errorCategory(error);
    return category === 'validation' || category === 'unavailable' ? EXIT_USAGE : EXIT_FAILURE_FOUND;
  }
}
