/**
 * Mirrors etcd release-3.4 `etcdctl/ctlv2/command/` (`set_command.go`, `get_command.go`,
 * `mk_command.go`, `update_command.go`, `rm_command.go`, `ls_command.go`, `mkdir_command.go`,
 * `format.go`): one `ETCDCTL_API=2 etcdctl` command line, run against a `V2Client`, printed as
 * etcdctl v2 prints it. In a script these lines start with `v2`:
 *
 *   v2 set /foo bar          → bar
 *   v2 rm /foo               → PrevNode.Value: bar
 *   v2 get /nope             → stderr "Error:  100: Key not found (/nope) [5]", exit 4
 *   v2 -o extended get /foo  → Key: /foo, Created-Index: …, Modified-Index: …, TTL: 0, Index: …, "", bar
 *
 * Exit codes are etcdctl v2's (`ctlv2/command/error.go`): 1 ExitBadArgs, 4 ExitServerError. The v2
 * error line has two spaces after "Error:" because etcdctl prints it with `Fprintln("Error: ", err)`.
 */
import { formatV2Error } from "../kvWorkload.js";
import type { V2Client, V2ErrorBody, V2Event, V2Node, V2Outcome } from "../workload.js";
import { flagOn, parseFlags, type FlagSpec } from "./etcdctlArgs.js";
import type { CtlResult } from "./etcdctlV3.js";

export const V2_EXIT_BAD_ARGS = 1;
export const V2_EXIT_SERVER_ERROR = 4;

const FLAGS: Record<string, FlagSpec[]> = {
  set: [
    { name: "ttl", kind: "value" },
    { name: "swap-with-value", kind: "value" },
    { name: "swap-with-index", kind: "value" },
  ],
  mk: [
    { name: "ttl", kind: "value" },
    { name: "in-order", kind: "bool" },
  ],
  update: [{ name: "ttl", kind: "value" }],
  get: [
    { name: "sort", kind: "bool" },
    { name: "quorum", kind: "bool" },
  ],
  ls: [
    { name: "sort", kind: "bool" },
    { name: "recursive", short: "r", kind: "bool" },
    { name: "p", short: "p", kind: "bool" },
    { name: "quorum", kind: "bool" },
  ],
  rm: [
    { name: "dir", kind: "bool" },
    { name: "recursive", short: "r", kind: "bool" },
    { name: "with-value", kind: "value" },
    { name: "with-index", kind: "value" },
  ],
  rmdir: [],
  mkdir: [{ name: "ttl", kind: "value" }],
  setdir: [{ name: "ttl", kind: "value" }],
  watch: [
    { name: "recursive", short: "r", kind: "bool" },
    { name: "after-index", kind: "value" },
    { name: "forever", kind: "bool" },
  ],
};

/** The v2 commands this interpreter knows, for help and tab completion. */
export const V2_COMMANDS = Object.keys(FLAGS);

export function v2FlagsOf(command: string): string[] {
  return (FLAGS[command] ?? []).map((f) => (f.name.length === 1 ? `-${f.name}` : `--${f.name}`));
}

export interface ParsedV2 {
  name: string;
  args: string[];
  flags: Record<string, string>;
  /** The global `-o simple|extended|json`. */
  output: string;
}

function fail(exit: number, message: string): CtlResult {
  return { out: [], err: [`Error:  ${message}`], exit };
}

/** The key as the v2 client sends it: etcdctl adds the leading slash (`set foo` writes `/foo`). */
export function v2Key(key: string): string {
  return key.startsWith("/") ? key : `/${key}`;
}

/** Reads `[-o FORMAT] command args…`; an error is a finished result. */
export function parseV2(argv: readonly string[]): ParsedV2 | CtlResult {
  let words = [...argv];
  let output = "simple";
  while (words[0] === "-o" || words[0]?.startsWith("--output") === true || words[0]?.startsWith("-o=") === true) {
    const first = words.shift() as string;
    const eq = first.indexOf("=");
    output = eq >= 0 ? first.slice(eq + 1) : (words.shift() ?? "");
  }
  const name = words[0] ?? "";
  const specs = FLAGS[name];
  if (specs === undefined) return { out: [], err: [`No help topic for '${name}'`], exit: 3 };
  words = words.slice(1);
  const parsed = parseFlags(words, specs);
  if ("error" in parsed) return { out: [], err: [`Incorrect Usage: flag provided but not defined: ${parsed.error.replace(/^unknown (shorthand )?flag: /, "")}`], exit: 1 };
  return { name, args: parsed.args, flags: parsed.flags, output };
}

/** client.Node as etcd's Go v2 client marshals it: value always, nodes null unless listed, dir/ttl omitempty. */
function nodeJson(node: V2Node): string {
  const parts = [`"key":${JSON.stringify(node.key ?? "")}`];
  if (node.dir === true) parts.push(`"dir":true`);
  parts.push(`"value":${JSON.stringify(node.value ?? "")}`);
  parts.push(`"nodes":${node.nodes === undefined ? "null" : `[${node.nodes.map(nodeJson).join(",")}]`}`);
  parts.push(`"createdIndex":${node.createdIndex ?? 0}`, `"modifiedIndex":${node.modifiedIndex ?? 0}`);
  if (node.expiration !== undefined) parts.push(`"expiration":${JSON.stringify(node.expiration)}`);
  if (node.ttl !== undefined && node.ttl !== 0) parts.push(`"ttl":${node.ttl}`);
  return `{${parts.join(",")}}`;
}

/** `printResponseKey` of `format.go`: simple prints the value (a delete its previous value). */
export function printResponse(event: V2Event, output: string): CtlResult {
  switch (output) {
    case "simple":
      return { out: event.action === "delete" ? [`PrevNode.Value: ${event.prevNode?.value ?? ""}`] : [event.node.value ?? ""], err: [], exit: 0 };
    case "extended": {
      const out = [`Key: ${event.node.key ?? ""}`, `Created-Index: ${event.node.createdIndex ?? 0}`, `Modified-Index: ${event.node.modifiedIndex ?? 0}`];
      if (event.prevNode !== undefined) out.push(`PrevNode.Value: ${event.prevNode.value ?? ""}`);
      out.push(`TTL: ${event.node.ttl ?? 0}`, `Index: ${event.etcdIndex}`);
      if (event.action !== "delete") out.push("", event.node.value ?? "");
      return { out, err: [], exit: 0 };
    }
    case "json":
      return {
        out: [`{"action":${JSON.stringify(event.action)},"node":${nodeJson(event.node)},"prevNode":${event.prevNode === undefined ? "null" : nodeJson(event.prevNode)}}`],
        err: [],
        exit: 0,
      };
    default:
      return { out: [], err: [`Unsupported output format: ${output}`], exit: 0 };
  }
}

function serverError(error: V2ErrorBody): CtlResult {
  return fail(V2_EXIT_SERVER_ERROR, formatV2Error(error));
}

function integer(text: string | undefined): number | undefined {
  return text === undefined ? undefined : /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
}

function printed(answer: V2Outcome<V2Event>, output: string, quietForDirs = false): CtlResult {
  if (!answer.ok) return serverError(answer.error);
  if (quietForDirs && answer.value.node.dir === true && output === "simple") return { out: [], err: [], exit: 0 };
  return printResponse(answer.value, output);
}

/** `printLs`: the node's key unless it is a directory, then its children depth first (`-p` marks dirs). */
function listing(node: V2Node, markDirs: boolean): string[] {
  const out: string[] = [];
  if (node.dir !== true) out.push(node.key ?? "");
  const walk = (n: V2Node): void => {
    out.push(n.dir === true && markDirs ? `${n.key ?? ""}/` : (n.key ?? ""));
    for (const child of n.nodes ?? []) walk(child);
  };
  for (const child of node.nodes ?? []) walk(child);
  return out;
}

/** Runs one v2 command other than `watch` (the console keeps watches running). Never throws on bad input. */
export async function runV2(client: V2Client, argv: readonly string[]): Promise<CtlResult> {
  const parsed = parseV2(argv);
  if ("exit" in parsed) return parsed;
  const { name, args, flags, output } = parsed;
  const key = args[0];
  if (key === undefined && name !== "ls") return fail(V2_EXIT_BAD_ARGS, "key required");
  const ttl = integer(flags["ttl"]);
  if (ttl !== undefined && Number.isNaN(ttl)) return { out: [], err: [`invalid value "${flags["ttl"]}" for flag -ttl: parse error`], exit: 1 };
  const ttlOption = ttl === undefined || ttl === 0 ? {} : { ttlSeconds: ttl };
  switch (name) {
    case "set":
    case "mk":
    case "update": {
      const value = args[1];
      if (value === undefined) return fail(V2_EXIT_BAD_ARGS, "value required");
      if (name === "mk" && flagOn(flags, "in-order")) return printed(await client.createInOrder(v2Key(key as string), value, ttlOption), output);
      const swapIndex = integer(flags["swap-with-index"]);
      const options = {
        ...ttlOption,
        ...(name === "mk" ? { prevExist: false } : name === "update" ? { prevExist: true } : {}),
        ...(flags["swap-with-value"] === undefined || flags["swap-with-value"] === "" ? {} : { prevValue: flags["swap-with-value"] }),
        ...(swapIndex === undefined || swapIndex === 0 || Number.isNaN(swapIndex) ? {} : { prevIndex: swapIndex }),
      };
      return printed(await client.set(v2Key(key as string), value, options), output);
    }
    case "mkdir":
    case "setdir": {
      const answer = await client.set(v2Key(key as string), "", { dir: true, ...ttlOption, ...(name === "mkdir" ? { prevExist: false } : {}) });
      if (!answer.ok) return serverError(answer.error);
      return output === "simple" ? { out: [], err: [], exit: 0 } : printResponse(answer.value, output);
    }
    case "get": {
      const answer = await client.get(v2Key(key as string), { sorted: flagOn(flags, "sort"), quorum: flagOn(flags, "quorum") });
      if (!answer.ok) return serverError(answer.error);
      if (answer.value.node.dir === true) return { out: [], err: [`${answer.value.node.key ?? ""}: is a directory`], exit: 1 };
      return printResponse(answer.value, output);
    }
    case "ls": {
      const answer = await client.get(v2Key(key ?? "/"), { sorted: flagOn(flags, "sort"), recursive: flagOn(flags, "recursive"), quorum: flagOn(flags, "quorum") });
      if (!answer.ok) return serverError(answer.error);
      return output === "simple" ? { out: listing(answer.value.node, flagOn(flags, "p")), err: [], exit: 0 } : printResponse(answer.value, output);
    }
    case "rm":
    case "rmdir": {
      const withIndex = integer(flags["with-index"]);
      const answer = await client.delete(v2Key(key as string), {
        ...(name === "rmdir" || flagOn(flags, "dir") ? { dir: true } : {}),
        ...(flagOn(flags, "recursive") ? { recursive: true } : {}),
        ...(flags["with-value"] === undefined || flags["with-value"] === "" ? {} : { prevValue: flags["with-value"] }),
        ...(withIndex === undefined || withIndex === 0 || Number.isNaN(withIndex) ? {} : { prevIndex: withIndex }),
      });
      return printed(answer, output, true);
    }
    default:
      return fail(V2_EXIT_BAD_ARGS, `${name} keeps running: the console handles it`);
  }
}
