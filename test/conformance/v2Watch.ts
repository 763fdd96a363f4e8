/**
 * Conformance cases for v2 watches (`GET ?wait=true`): v2.md §6. A watch is one long poll; its head
 * (status, X-Etcd-Index) arrives when it registers, its body when an event does.
 */
import { close, del, get, openWatch, put, read, type ConformanceCase } from "./cases.js";

const area = "v2 watch";

export const V2_WATCH_CASES: readonly ConformanceCase[] = [
  {
    area,
    name: "a watch waits for the next change of its key",
    steps: [openWatch("w", "/v2/keys/foo?wait=true"), put("/v2/keys/foo", "value=bar"), read("w")],
  },
  {
    area,
    name: "a waitIndex in the past is answered from the history at once",
    steps: [put("/v2/keys/h", "value=1"), put("/v2/keys/h", "value=2"), get("/v2/keys/h?wait=true&waitIndex=@1"), get("/v2/keys/h?wait=true&waitIndex=@2")],
  },
  {
    area,
    name: "a recursive watch sees changes below its directory",
    steps: [openWatch("w", "/v2/keys/dir?wait=true&recursive=true"), put("/v2/keys/dir/sub/k", "value=1"), read("w")],
  },
  {
    area,
    name: "a non-recursive watch on a directory ignores its children",
    steps: [put("/v2/keys/nd", "dir=true"), openWatch("w", "/v2/keys/nd?wait=true"), put("/v2/keys/nd/child", "value=1"), read("w", 1, 600), close("w")],
  },
  {
    area,
    name: "a recursive watch skips hidden keys",
    steps: [openWatch("w", "/v2/keys/hd?wait=true&recursive=true"), put("/v2/keys/hd/_secret", "value=1"), put("/v2/keys/hd/visible", "value=2"), read("w")],
  },
  {
    area,
    name: "a watch below a deleted directory hears the delete",
    steps: [put("/v2/keys/gone/a", "value=1"), openWatch("w", "/v2/keys/gone/a?wait=true"), del("/v2/keys/gone?recursive=true"), read("w")],
  },
  {
    area,
    name: "a stream watch keeps delivering",
    steps: [openWatch("w", "/v2/keys/s?wait=true&stream=true"), put("/v2/keys/s", "value=1"), put("/v2/keys/s", "value=2"), del("/v2/keys/s"), read("w", 3), close("w")],
  },
  {
    area,
    name: "a waitIndex older than the history window is 401 EventIndexCleared",
    steps: [
      ...Array.from({ length: 1005 }, (_, i) => put("/v2/keys/window", `value=${i}`)),
      get("/v2/keys/window?wait=true&waitIndex=@1"),
      get("/v2/keys/window?wait=true&waitIndex=@1000"),
    ],
  },
  {
    area,
    name: "an expired TTL key notifies its watcher with expire",
    steps: [put("/v2/keys/ex", "value=x&ttl=1"), openWatch("w", "/v2/keys/ex?wait=true&waitIndex=@2"), read("w", 1, 3500)],
  },
  {
    area,
    name: "a watch with a future waitIndex ignores earlier events",
    steps: [openWatch("w", "/v2/keys/fut?wait=true&waitIndex=@3"), put("/v2/keys/fut", "value=1"), put("/v2/keys/fut", "value=2"), put("/v2/keys/fut", "value=3"), read("w")],
  },
  {
    area,
    name: "a stream watcher on a deleted key gets the delete twice (quirk)",
    steps: [put("/v2/keys/dup", "value=1"), openWatch("w", "/v2/keys/dup?wait=true&stream=true"), del("/v2/keys/dup"), read("w", 2), close("w")],
  },
];
