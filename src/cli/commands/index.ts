import type { Command } from 'commander';
import type { CliContext } from '../cli-context';

/**
 * One group of commands. Each file in this folder exports one `CommandGroup`; `program.ts` registers them
 * all. A command reads its options from commander, does its work through `context`, and signals failure by
 * throwing `CliExit` (never `process.exit`), so tests can run the CLI in process.
 */
export type CommandGroup = (program: Command, context: CliContext) => void;
