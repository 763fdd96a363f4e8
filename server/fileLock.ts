/**
 * Mirrors etcd release-3.4 `pkg/fileutil/lock_linux.go` (`TryLockFile`): an exclusive lock on a file
 * that the kernel holds for the open file, not a lock file with a PID in it.
 *
 * etcd locks its WAL segments with Linux open-file-description locks (`F_OFD_SETLK`) and bbolt
 * `flock`s `member/snap/db`; a second etcd on the same data dir blocks on the db lock (datadir.md
 * §1.4). etcdsim takes the same kind of lock on `member/snap/db` through `fs-native-extensions`
 * (`tryLock` is `fcntl(F_OFD_SETLK)` on Linux), before it touches anything in the data dir:
 *
 *   const lock = tryLockFile(".../member/snap/db")   →  a FileLock, or undefined if another holder has it
 *   lock.close()                                     →  released (a kill -9 releases it too: the kernel
 *                                                       drops the lock with the process's last descriptor)
 *
 * An OFD lock belongs to the open file description, so a second open in the same process is refused
 * as well (two in-process members on one data dir), unlike a classic per-process POSIX lock.
 */
import { closeSync, openSync } from "node:fs";
import { createRequire } from "node:module";

interface NativeLocks {
  tryLock(fd: number): boolean;
}

const native = createRequire(import.meta.url)("fs-native-extensions") as NativeLocks;

/** A held lock: the descriptor that holds it. */
export class FileLock {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** Releases the lock (closing its descriptor). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/**
 * Opens `path` (creating it empty if missing, never truncating it) and takes an exclusive lock on the
 * whole file without waiting. Returns undefined, with nothing held, when another descriptor holds it.
 */
export function tryLockFile(path: string): FileLock | undefined {
  const fd = openSync(path, "a+", 0o600);
  let granted = false;
  try {
    granted = native.tryLock(fd);
  } finally {
    if (!granted) closeSync(fd);
  }
  return granted ? new FileLock(path, fd) : undefined;
}
