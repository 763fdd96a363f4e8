/**
 * The page's console: one etcdctl command line, sent to the client port like a student's
 * etcdctl would send it, and printed the way etcdctl 3.4 prints it. Mirrors the output code of
 * etcd release-3.4 `etcdctl/ctlv3/command/printer_simple.go` (v3) and `etcdctl/ctlv2/command/`
 * (v2's `printKey`, `handleError`), for the commands a lesson needs:
 *
 *   etcdctl put foo bar                 →  OK
 *   etcdctl get foo [--rev=N] [--prefix] →  foo\nbar
 *   etcdctl del foo [--prefix]          →  1
 *   etcdctl compaction 5                →  compacted revision 5
 *   etcdctl lease grant 10              →  lease 694d77aa9e38260f granted with TTL(10s)
 *   etcdctl lease revoke 694d…          →  lease 694d77aa9e38260f revoked
 *   etcdctl put k v --lease=694d…       →  OK
 *   ETCDCTL_API=2 etcdctl set /a 1 [--ttl 5] →  1
 *   ETCDCTL_API=2 etcdctl get /a        →  1          (missing: Error:  100: Key not found (/a) [7])
 *   ETCDCTL_API=2 etcdctl mk|update|rm|mkdir|rmdir|ls …
 *
 * v3 commands go through the JSON gateway (`/v3/...`), v2 commands through `/v2/keys`, so each one
 * is a request on the client port: it shows on the timeline like anyone else's. Quirk kept: a bare
 * `etcdctl` means API 3, as in etcdctl 3.4. Watches are refused here: a console watch would hold the
 * page's request open; run `etcdctl watch` in a terminal and watch it appear among the connections.
 */

/** What the console prints for one line. */
export interface ConsoleResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs one console line against `clientUrl`. Never throws: failures are printed as etcdctl would. */
export async function runConsoleLine(line: string, clientUrl: string): Promise<ConsoleResult> {
  const words = splitWords(line.trim());
  let api = "3";
  while (words[0]?.startsWith("ETCDCTL_API=") === true) api = (words.shift() as string).slice("ETCDCTL_API=".length);
  if (words[0] !== "etcdctl") return { ok: false, output: `unknown command: ${words[0] ?? ""} (try: etcdctl put foo bar, or ETCDCTL_API=2 etcdctl set /foo bar)` };
  words.shift();
  const { args, flags } = parseFlags(words);
  try {
    if (api === "2") return await runV2(args, flags, clientUrl);
    if (api === "3") return await runV3(args, flags, clientUrl);
    return { ok: false, output: `Error: unknown ETCDCTL_API ${api}` };
  } catch (error) {
    return { ok: false, output: `Error: ${error instanceof Error ? error.message : String(error)}` };
  }
}

type Flags = Map<string, string>;

async function runV3(args: string[], flags: Flags, clientUrl: string): Promise<ConsoleResult> {
  const [command, a, b] = args;
  const call = async (path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const response = await fetch(`${clientUrl}/v3/${path}`, { method: "POST", body: JSON.stringify(body) });
    const answer = (await response.json()) as Record<string, unknown>;
    if (response.status !== 200) throw new Error(String(answer["error"] ?? answer["message"] ?? response.status));
    return answer;
  };
  const leaseFlag = flags.get("lease");
  switch (command) {
    case "put": {
      if (a === undefined || b === undefined) return usage("put", "etcdctl put [options] <key> <value>");
      await call("kv/put", { key: b64(a), value: b64(b), ...(leaseFlag === undefined ? {} : { lease: BigInt(`0x${leaseFlag}`).toString() }) });
      return { ok: true, output: "OK" };
    }
    case "get": {
      if (a === undefined) return usage("get", "etcdctl get [options] <key> [range_end]");
      const body: Record<string, unknown> = { key: b64(a) };
      if (flags.has("prefix")) body["range_end"] = b64(prefixEnd(a));
      else if (b !== undefined) body["range_end"] = b64(b);
      const rev = flags.get("rev");
      if (rev !== undefined) body["revision"] = rev;
      const answer = await call("kv/range", body);
      const kvs = (answer["kvs"] as Array<Record<string, string>> | undefined) ?? [];
      return { ok: true, output: kvs.map((kv) => `${unb64(kv["key"] ?? "")}\n${unb64(kv["value"] ?? "")}`).join("\n") };
    }
    case "del": {
      if (a === undefined) return usage("del", "etcdctl del [options] <key> [range_end]");
      const body: Record<string, unknown> = { key: b64(a) };
      if (flags.has("prefix")) body["range_end"] = b64(prefixEnd(a));
      else if (b !== undefined) body["range_end"] = b64(b);
      const answer = await call("kv/deleterange", body);
      return { ok: true, output: String(answer["deleted"] ?? "0") };
    }
    case "compaction": {
      if (a === undefined) return usage("compaction", "etcdctl compaction [options] <revision>");
      await call("kv/compaction", { revision: a });
      return { ok: true, output: `compacted revision ${a}` };
    }
    case "lease": {
      if (a === "grant" && b !== undefined) {
        const answer = await call("lease/grant", { TTL: b });
        return { ok: true, output: `lease ${BigInt(String(answer["ID"])).toString(16)} granted with TTL(${String(answer["TTL"])}s)` };
      }
      if (a === "revoke" && b !== undefined) {
        await call("lease/revoke", { ID: BigInt(`0x${b}`).toString() });
        return { ok: true, output: `lease ${b} revoked` };
      }
      return usage("lease", "etcdctl lease grant <ttl> | lease revoke <leaseID>");
    }
    case "watch":
      return { ok: false, output: "the page's console does not hold watches open: run etcdctl watch in a terminal" };
    default:
      return { ok: false, output: `Error: unknown command "${command ?? ""}" for "etcdctl" (the console knows put, get, del, compaction, lease)` };
  }
}

async function runV2(args: string[], flags: Flags, clientUrl: string): Promise<ConsoleResult> {
  const [command, key, value] = args;
  if (command === undefined) return { ok: false, output: "Error: a v2 command is needed (get, set, mk, mkdir, update, rm, rmdir, ls)" };
  const request = async (method: string, path: string, form: Record<string, string> = {}, query = ""): Promise<Record<string, unknown>> => {
    const body = new URLSearchParams(form).toString();
    const response = await fetch(`${clientUrl}/v2/keys${encodeKey(path)}${query}`, {
      method,
      ...(method === "GET" || method === "DELETE" ? {} : { body, headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (answer["errorCode"] !== undefined) {
      // etcdctl v2's handleError: "Error:  <code>: <message> (<cause>) [<index>]" (two spaces: a quirk of its format string).
      throw new Error(` ${String(answer["errorCode"])}: ${String(answer["message"])} (${String(answer["cause"])}) [${String(answer["index"])}]`);
    }
    return answer;
  };
  const ttl = flags.get("ttl");
  const ttlForm: Record<string, string> = ttl === undefined ? {} : { ttl };
  const nodeValue = (answer: Record<string, unknown>): string => String((answer["node"] as Record<string, unknown> | undefined)?.["value"] ?? "");
  switch (command) {
    case "get": {
      if (key === undefined) return usage("get", "etcdctl get <key>");
      return { ok: true, output: nodeValue(await request("GET", key, {}, "?quorum=false&recursive=false&sorted=false")) };
    }
    case "set":
    case "mk":
    case "update": {
      if (key === undefined || value === undefined) return usage(command, `etcdctl ${command} <key> <value>`);
      const query = command === "mk" ? "?prevExist=false" : command === "update" ? "?prevExist=true" : "";
      return { ok: true, output: nodeValue(await request("PUT", key, { value, ...ttlForm }, query)) };
    }
    case "mkdir": {
      if (key === undefined) return usage("mkdir", "etcdctl mkdir <key>");
      await request("PUT", key, { dir: "true", ...ttlForm }, "?prevExist=false");
      return { ok: true, output: "" };
    }
    case "rm": {
      if (key === undefined) return usage("rm", "etcdctl rm <key>");
      const query = flags.has("recursive") ? "?recursive=true" : flags.has("dir") ? "?dir=true" : "";
      const answer = await request("DELETE", key, {}, query);
      const previous = answer["prevNode"] as Record<string, unknown> | undefined;
      return { ok: true, output: previous?.["value"] === undefined ? "" : `PrevNode.Value: ${String(previous["value"])}` };
    }
    case "rmdir": {
      if (key === undefined) return usage("rmdir", "etcdctl rmdir <key>");
      await request("DELETE", key, {}, "?dir=true");
      return { ok: true, output: "" };
    }
    case "ls": {
      const answer = await request("GET", key ?? "/", {}, `?quorum=false&recursive=${flags.has("recursive") ? "true" : "false"}&sorted=true`);
      const lines: string[] = [];
      const walk = (node: Record<string, unknown>): void => {
        for (const child of (node["nodes"] as Array<Record<string, unknown>> | undefined) ?? []) {
          lines.push(String(child["key"]) + (child["dir"] === true && flags.has("p") ? "/" : ""));
          walk(child);
        }
      };
      walk((answer["node"] as Record<string, unknown> | undefined) ?? {});
      return { ok: true, output: lines.join("\n") };
    }
    default:
      return { ok: false, output: `No help topic for '${command}'` };
  }
}

function usage(command: string, text: string): ConsoleResult {
  return { ok: false, output: `Error: ${command} needs arguments\nUsage: ${text}` };
}

/** Words as a shell would split them: spaces separate, single and double quotes group. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3] ?? "");
  return words;
}

/** `--flag=value`, `--flag value` (for the flags that take one) and bare `--flag`. */
function parseFlags(words: string[]): { args: string[]; flags: Flags } {
  const takesValue = new Set(["ttl", "lease", "rev"]);
  const args: string[] = [];
  const flags: Flags = new Map();
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const match = /^--?([a-zA-Z-]+)(?:=(.*))?$/.exec(word);
    if (match === null) {
      args.push(word);
      continue;
    }
    const name = match[1] as string;
    if (match[2] !== undefined) flags.set(name, match[2]);
    else if (takesValue.has(name) && i + 1 < words.length) flags.set(name, words[++i] as string);
    else flags.set(name, "");
  }
  return { args, flags };
}

function b64(text: string | Buffer): string {
  return (typeof text === "string" ? Buffer.from(text, "utf8") : text).toString("base64");
}

function unb64(text: string): string {
  return Buffer.from(text, "base64").toString("utf8");
}

/** clientv3's GetPrefixRangeEnd: the key with its last byte below 0xff incremented ("\0" for all). */
function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, "utf8");
  for (let i = bytes.length - 1; i >= 0; i--) {
    if ((bytes[i] as number) < 0xff) return Buffer.concat([bytes.subarray(0, i), Buffer.from([(bytes[i] as number) + 1])]);
  }
  return Buffer.from([0]);
}

function encodeKey(key: string): string {
  const path = key.startsWith("/") ? key : `/${key}`;
  return path.split("/").map(encodeURIComponent).join("/");
}
