/** Exit codes a script can trust: 0 ok, 1 a failure was found (e.g. a broken hash chain), 2 usage or connection error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE_FOUND = 1;
export const EXIT_USAGE = 2;

/** Thrown by a command to end the run with a code and a message on standard error. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}
