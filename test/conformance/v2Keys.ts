/**
 * Conformance cases for the v2 keys API (`/v2/keys`): v2.md §1-§5. Each case starts on an empty key
 * space; `@N` is the N-th index after the case began.
 */
import { del, get, post, put, wait, type ConformanceCase } from "./cases.js";

const area = "v2 keys";

export const V2_KEYS_CASES: readonly ConformanceCase[] = [
  { area, name: "set, then get, a key", steps: [put("/v2/keys/message", "value=Hello"), put("/v2/keys/message", "value=World"), get("/v2/keys/message")] },
  { area, name: "get of a missing key is error 100 with the missing path as cause", steps: [get("/v2/keys/missing"), get("/v2/keys/a/b/c")] },
  { area, name: "HEAD answers like GET without a body", steps: [put("/v2/keys/h", "value=1"), { send: { method: "HEAD", path: "/v2/keys/h" } }, { send: { method: "HEAD", path: "/v2/keys/nope" } }] },
  { area, name: "set creates the directories on the way", steps: [put("/v2/keys/a/b/c", "value=deep"), get("/v2/keys/a?recursive=true&sorted=true"), get("/v2/keys/a/b?sorted=true")] },
  { area, name: "a trailing slash names the same key", steps: [put("/v2/keys/tr/", "value=trailing"), get("/v2/keys/tr")] },
  { area, name: "an empty value is still a value", steps: [put("/v2/keys/empty", "value="), get("/v2/keys/empty")] },
  {
    area,
    name: "hidden children are left out of listings but readable directly",
    steps: [
      put("/v2/keys/dir/a", "value=1"),
      put("/v2/keys/dir/_hidden", "value=h"),
      put("/v2/keys/dir/_hd/x", "value=inside"),
      get("/v2/keys/dir?recursive=true&sorted=true"),
      get("/v2/keys/dir/_hidden"),
      get("/v2/keys/dir/_hd?recursive=true"),
    ],
  },
  {
    area,
    name: "create (prevExist=false) refuses an existing key with 105",
    steps: [put("/v2/keys/c", "value=1&prevExist=false"), put("/v2/keys/c", "value=2&prevExist=false")],
  },
  {
    area,
    name: "update (prevExist=true) needs the key, keeps createdIndex",
    steps: [put("/v2/keys/u", "value=1&prevExist=true"), put("/v2/keys/u", "value=1"), put("/v2/keys/u", "value=2&prevExist=true"), get("/v2/keys/u")],
  },
  {
    area,
    name: "set on an existing file renews createdIndex",
    steps: [put("/v2/keys/s", "value=1"), put("/v2/keys/s", "value=2"), get("/v2/keys/s")],
  },
  {
    area,
    name: "compare-and-swap on value and index, with 101 causes",
    steps: [
      put("/v2/keys/cas", "value=one"),
      put("/v2/keys/cas", "value=two&prevValue=one"),
      put("/v2/keys/cas", "value=x&prevValue=wrong"),
      put("/v2/keys/cas", "value=x&prevIndex=@1"),
      put("/v2/keys/cas", "value=x&prevValue=wrong&prevIndex=@1"),
      put("/v2/keys/cas", "value=three&prevIndex=@2"),
      put("/v2/keys/missingcas", "value=x&prevValue=a"),
    ],
  },
  {
    area,
    name: "bad parameters get 201-203 with index 0",
    steps: [put("/v2/keys/p", "value=x&prevValue="), put("/v2/keys/p", "value=x&prevIndex=abc"), put("/v2/keys/p", "value=x&ttl=abc"), get("/v2/keys/p?recursive=maybe")],
  },
  {
    area,
    name: "compare-and-delete on value and index",
    steps: [put("/v2/keys/cad", "value=v"), del("/v2/keys/cad?prevValue=wrong"), del("/v2/keys/cad?prevIndex=@1"), del("/v2/keys/cad?prevValue=v"), get("/v2/keys/cad")],
  },
  {
    area,
    name: "deleting directories needs dir=true or recursive=true",
    steps: [
      put("/v2/keys/d/a", "value=1"),
      put("/v2/keys/e", "dir=true"),
      del("/v2/keys/d"),
      del("/v2/keys/d?dir=true"),
      del("/v2/keys/e?dir=true"),
      del("/v2/keys/d?recursive=true"),
      get("/v2/keys/d/a"),
    ],
  },
  { area, name: "the root is read only", steps: [put("/v2/keys/", "value=x"), del("/v2/keys/?recursive=true"), del("/v2/keys/?prevValue=x")] },
  {
    area,
    name: "a file in the path is 104 Not a directory",
    steps: [put("/v2/keys/f", "value=1"), put("/v2/keys/f/child", "value=2"), get("/v2/keys/f/child")],
  },
  {
    area,
    name: "POST creates in-order keys named after their index",
    steps: [post("/v2/keys/queue", "value=job1"), post("/v2/keys/queue", "value=job2"), get("/v2/keys/queue?sorted=true"), get("/v2/keys/queue/@@1")],
  },
  {
    area,
    name: "a TTL key shows ttl and expiration, then expires",
    steps: [put("/v2/keys/ttl", "value=x&ttl=1"), get("/v2/keys/ttl"), wait(2200), get("/v2/keys/ttl")],
  },
  {
    area,
    name: "refresh keeps the value and needs a ttl",
    steps: [
      put("/v2/keys/r", "value=keep&ttl=30"),
      put("/v2/keys/r", "ttl=60&refresh=true&prevExist=true"),
      put("/v2/keys/r", "value=x&ttl=60&refresh=true"),
      put("/v2/keys/r", "refresh=true"),
      get("/v2/keys/r"),
    ],
  },
  {
    area,
    name: "a directory with a TTL expires as one unit",
    steps: [put("/v2/keys/td", "dir=true&ttl=1"), put("/v2/keys/td/a", "value=1"), wait(2200), get("/v2/keys/td/a"), get("/v2/keys/td")],
  },
  {
    area,
    name: "a hidden top-level key is readable but not listed at the root",
    steps: [put("/v2/keys/_top", "value=secret"), put("/v2/keys/visible", "value=1"), get("/v2/keys/?recursive=true&sorted=true"), get("/v2/keys/_top")],
  },
  {
    area,
    name: "a directory TTL update answers the new index but keeps the stored modifiedIndex (quirk)",
    steps: [put("/v2/keys/tdir", "dir=true"), put("/v2/keys/tdir", "dir=true&ttl=60&prevExist=true"), get("/v2/keys/tdir")],
  },
  {
    area,
    name: "update without a value empties the value",
    steps: [put("/v2/keys/wipe", "value=full"), put("/v2/keys/wipe", "prevExist=true"), get("/v2/keys/wipe")],
  },
];
