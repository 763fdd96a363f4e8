/**
 * What the command-line entry points (`npm start`, `npm run console`) share about their output.
 *
 * `npm start | head`: when the reader closes the pipe early, the next write fails with EPIPE. A
 * Unix tool simply stops there; Node would print the unhandled error's stack trace. `guardStdout()`
 * makes the process stop quietly instead, exit code 0 (the reader had all it wanted).
 */
export function guardStdout(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(0);
      throw error;
    });
  }
}
