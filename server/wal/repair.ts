/**
 * Mirrors etcd release-3.4 `wal/repair.go`: cutting off a torn tail, the one damage a crash is allowed
 * to leave.
 *
 * A process killed in the middle of a write can leave the last record of the last segment half on disk.
 * That record was never synced, so no client was told it happened. Repair keeps a copy of the segment as
 * `<name>.broken`, cuts the segment at the end of its last good record, syncs it, and reports what it
 * did. etcd repairs at most once per start; a second torn read after a repair is fatal.
 *
 *   0000000000000000-0000000000000000.wal, torn at offset 1568
 *     → 0000000000000000-0000000000000000.wal.broken (the whole file as it was)
 *     → the segment truncated to 1568 bytes, then zeroed back to its preallocated size when opened for writing
 */
import { closeSync, copyFileSync, fdatasyncSync, ftruncateSync, openSync } from "node:fs";

/** Copies `path` to `path.broken`, truncates `path` to `lastValidOffset` and syncs it. */
export function repairTornTail(path: string, lastValidOffset: number): string {
  const broken = `${path}.broken`;
  copyFileSync(path, broken);
  const fd = openSync(path, "r+");
  try {
    ftruncateSync(fd, lastValidOffset);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return broken;
}
