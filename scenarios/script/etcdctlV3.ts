/**
 * Mirrors etcd release-3.4 `etcdctl/ctlv3/command/` (`put_command.go`, `get_command.go`,
 * `del_command.go`, `txn_command.go`, `compaction_command.go`, `lease_command.go`): one etcdctl v3
 * command line, run against a `V3Client`, with what etcdctl would write to stdout and stderr and the
 * exit code it would return. Checks happen in etcdctl's order, so a bad argument changes nothing and
 * `put k v -w table` still writes before it complains (etcdctl prints after the request).
 *
 *   runV3(client, ["put", "foo", "bar"])              → { out: ["OK"], err: [], exit: 0 }
 *   runV3(client, ["get", "foo", "--sort-by=mod"])    → { out: [], err: ["Error: bad sort target mod"], exit: 4 }
 *   runV3(client, ["lease", "revoke", "zz"])          → exit 128, "Error: bad lease ID arg (…), expecting ID in Hex"
 *
 * Exit codes are etcdctl's (`ctlv3/command/error.go`): 1 ExitError, 2 ExitBadConnection,
 * 3 ExitInvalidInput, 4 ExitBadFeature, 5 ExitInterrupted, 128 ExitBadArgs.
 * Not simulated: the `{"level":"warn",…}` retry line the Go client logs before a gRPC error, and the
 * command's usage text that cobra prints around `unknown flag` (only the `Error:` line is kept).
 */
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { SortOrder, SortTarget, type RangeRequest, type RequestOp, type TxnRequest } from "../../v3/rpc.js";
import { prefixEnd } from "../kvWorkload.js";
import { parseCompare, parseOp } from "../txnScript.js";
import type { V3Client, V3Outcome, V3Status } from "../workload.js";
import { flagOn, parseFlags, parseGoInt, type FlagSpec } from "./etcdctlArgs.js";
import * as format from "./etcdctlFormat.js";

export const EXIT_ERROR = 1;
export const EXIT_BAD_CONNECTION = 2;
export const EXIT_INVALID_INPUT = 3;
export const EXIT_BAD_FEATURE = 4;
export const EXIT_INTERRUPTED = 5;
export const EXIT_BAD_ARGS = 128;

/** What one etcdctl run printed, and its exit code. */
export interface CtlResult {
  out: string[];
  err: string[];
  exit: number;
}

export function ok(out: string[]): CtlResult {
  return { out, err: [], exit: 0 };
}

export function fail(exit: number, message: string, out: string[] = []): CtlResult {
  return { out, err: [`Error: ${message}`], exit };
}

/** Flags every v3 command takes (the global ones a script can use). */
const GLOBAL: FlagSpec[] = [
  { name: "write-out", short: "w", kind: "value" },
  { name: "hex", kind: "bool" },
];

const FLAGS: Record<string, FlagSpec[]> = {
  put: [
    { name: "lease", kind: "value" },
    { name: "prev-kv", kind: "bool" },
    { name: "ignore-value", kind: "bool" },
    { name: "ignore-lease", kind: "bool" },
  ],
  get: [
    { name: "consistency", kind: "value" },
    { name: "order", kind: "value" },
    { name: "sort-by", kind: "value" },
    { name: "limit", kind: "value" },
    { name: "prefix", kind: "bool" },
    { name: "from-key", kind: "bool" },
    { name: "rev", kind: "value" },
    { name: "keys-only", kind: "bool" },
    { name: "print-value-only", kind: "bool" },
  ],
  del: [
    { name: "prefix", kind: "bool" },
    { name: "prev-kv", kind: "bool" },
    { name: "from-key", kind: "bool" },
  ],
  txn: [{ name: "interactive", short: "i", kind: "bool" }],
  compaction: [{ name: "physical", kind: "bool" }],
  watch: [
    { name: "interactive", short: "i", kind: "bool" },
    { name: "prefix", kind: "bool" },
    { name: "rev", kind: "value" },
    { name: "prev-kv", kind: "bool" },
  ],
  "lease grant": [],
  "lease revoke": [],
  "lease timetolive": [{ name: "keys", kind: "bool" }],
  "lease keep-alive": [{ name: "once", kind: "bool" }],
  "lease list": [],
  version: [],
};

/** The v3 commands this interpreter knows, for help and tab completion. */
export const V3_COMMANDS = Object.keys(FLAGS);

/** Flags of a command, for tab completion. */
export function v3FlagsOf(command: string): string[] {
  return [...(FLAGS[command] ?? []), ...GLOBAL].map((f) => `--${f.name}`);
}

/** Splits `lease grant 10` into the command name ("lease grant") and its words. */
export function v3CommandName(argv: readonly string[]): { name: string; rest: string[] } | undefined {
  const [first, second] = argv;
  if (first === undefined) return undefined;
  if (first === "lease" && second !== undefined && `lease ${second}` in FLAGS) return { name: `lease ${second}`, rest: argv.slice(2) };
  if (first in FLAGS && first !== "lease") return { name: first, rest: argv.slice(1) };
  return undefined;
}

export interface ParsedV3 {
  name: string;
  args: string[];
  flags: Record<string, string>;
  output: format.OutputFormat | "table";
}

/** Reads one command line into name, positional args, flags and `-w`; an error is a finished result. */
export function parseV3(argv: readonly string[]): ParsedV3 | CtlResult {
  const command = v3CommandName(argv);
  if (command === undefined) {
    const word = argv[0] ?? "";
    return fail(EXIT_ERROR, argv[0] === "lease" ? `unknown command "${argv[1] ?? ""}" for "etcdctl lease"` : `unknown command "${word}" for "etcdctl"`);
  }
  const parsed = parseFlags(command.rest, [...(FLAGS[command.name] ?? []), ...GLOBAL]);
  if ("error" in parsed) return fail(EXIT_ERROR, parsed.error);
  const output = parsed.flags["write-out"] ?? "simple";
  if (output === "protobuf") return fail(EXIT_BAD_FEATURE, "protobuf output is binary: etcdsim does not print it (use json)");
  if (output !== "simple" && output !== "json" && output !== "fields" && output !== "table") return fail(EXIT_BAD_FEATURE, "unsupported output format");
  return { name: command.name, args: parsed.args, flags: parsed.flags, output };
}

/** A gRPC error as etcdctl prints it (`Error: <message>`, exit 1 unless the command says otherwise). */
function rpcError(status: V3Status, exit = EXIT_ERROR, wrap?: string): CtlResult {
  return fail(exit, wrap === undefined ? status.message : `${wrap} (${status.message})`);
}

/** The printed answer, or etcdctl's refusal of `-w table` for KV and lease answers (after the request ran). */
function display(parsed: ParsedV3, print: Record<format.OutputFormat, () => string[]>): CtlResult {
  if (parsed.output === "table") return fail(EXIT_BAD_FEATURE, "table not supported as output format");
  return ok(print[parsed.output]());
}

function simpleOptions(parsed: ParsedV3): format.SimpleOptions {
  return { hex: flagOn(parsed.flags, "hex"), valueOnly: flagOn(parsed.flags, "print-value-only") };
}

// ---- the commands ---------------------------------------------------------------------------------

/** `getGetOp`: the RangeRequest for `get`, or etcdctl's refusal. */
export function getRequest(parsed: ParsedV3): RangeRequest | CtlResult {
  const { args, flags } = parsed;
  if (args.length === 0) return fail(EXIT_BAD_ARGS, "get command needs one argument as key and an optional argument as range_end");
  const prefix = flagOn(flags, "prefix");
  const fromKey = flagOn(flags, "from-key");
  if (prefix && fromKey) return fail(EXIT_BAD_ARGS, "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  const consistency = flags["consistency"] ?? "l";
  if (consistency !== "l" && consistency !== "s") return fail(EXIT_BAD_FEATURE, `unknown consistency flag "${consistency}"`);
  let key = args[0] as string;
  const request: RangeRequest = { key: utf8(key) };
  if (consistency === "s") request.serializable = true;
  if (args.length > 1) {
    if (prefix || fromKey) return fail(EXIT_BAD_ARGS, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set");
    request.range_end = utf8(args[1] as string);
  }
  const limit = flags["limit"] === undefined ? 0n : parseGoInt(flags["limit"], 10);
  if (typeof limit !== "bigint") return fail(EXIT_ERROR, `invalid argument "${flags["limit"]}" for "--limit" flag: ${limit.error}`);
  if (limit !== 0n) request.limit = Number(limit);
  const rev = flags["rev"] === undefined ? 0n : parseGoInt(flags["rev"], 10);
  if (typeof rev !== "bigint") return fail(EXIT_ERROR, `invalid argument "${flags["rev"]}" for "--rev" flag: ${rev.error}`);
  if (rev > 0n) request.revision = Number(rev);
  const orderText = flags["order"] ?? "";
  const orders: Record<string, SortOrder> = { ASCEND: SortOrder.ASCEND, DESCEND: SortOrder.DESCEND, "": SortOrder.NONE };
  let order = orders[orderText.toUpperCase()];
  if (order === undefined) return fail(EXIT_BAD_FEATURE, `bad sort order ${orderText}`);
  const targetText = flags["sort-by"] ?? "";
  const targets: Record<string, SortTarget> = {
    CREATE: SortTarget.CREATE,
    KEY: SortTarget.KEY,
    MODIFY: SortTarget.MOD,
    VALUE: SortTarget.VALUE,
    VERSION: SortTarget.VERSION,
    "": SortTarget.KEY,
  };
  const target = targets[targetText.toUpperCase()];
  if (target === undefined) return fail(EXIT_BAD_FEATURE, `bad sort target ${targetText}`);
  // clientv3.WithSort: sorting by key ascending is what the server does anyway, so it sends NONE.
  if (target === SortTarget.KEY && order === SortOrder.ASCEND) order = SortOrder.NONE;
  if (order !== SortOrder.NONE) request.sort_order = order;
  if (target !== SortTarget.KEY) request.sort_target = target;
  if (prefix) {
    if (key === "") {
      key = "\0";
      request.key = utf8(key);
      request.range_end = new Uint8Array([0]);
    } else request.range_end = prefixEnd(utf8(key));
  }
  if (fromKey) {
    if (key === "") request.key = new Uint8Array([0]);
    request.range_end = new Uint8Array([0]);
  }
  if (flagOn(flags, "keys-only")) request.keys_only = true;
  return request;
}

async function get(client: V3Client, parsed: ParsedV3): Promise<CtlResult> {
  const request = getRequest(parsed);
  if ("exit" in request) return request;
  const answer = await client.range(request);
  if (!answer.ok) return rpcError(answer.error);
  if (flagOn(parsed.flags, "print-value-only") && parsed.output !== "simple") return fail(EXIT_BAD_ARGS, "print-value-only is only for `--write-out=simple`");
  const response = answer.value;
  return display(parsed, {
    simple: () => format.simpleGet(response, simpleOptions(parsed)),
    json: () => [format.rangeJson(response)],
    fields: () => format.fieldsGet(response),
  });
}

async function put(client: V3Client, parsed: ParsedV3): Promise<CtlResult> {
  const { args, flags } = parsed;
  const ignoreValue = flagOn(flags, "ignore-value");
  if (args.length === 0) return fail(EXIT_BAD_ARGS, "put command needs 1 argument and input from stdin or 2 arguments");
  if (ignoreValue && args.length > 1) return fail(EXIT_BAD_ARGS, "put command needs only 1 argument when 'ignore-value' is set");
  // No stdin in a script or the console: a missing value is the "no input" case.
  if (!ignoreValue && args.length < 2) return fail(EXIT_BAD_ARGS, "put command needs 1 argument and input from stdin or 2 arguments");
  const lease = parseGoInt(flags["lease"] ?? "0", 16);
  if (typeof lease !== "bigint") return fail(EXIT_BAD_ARGS, `bad lease ID (${lease.error}), expecting ID in Hex`);
  const answer = await client.put({
    key: utf8(args[0] as string),
    ...(ignoreValue ? { ignore_value: true } : { value: utf8(args[1] as string) }),
    ...(lease === 0n ? {} : { lease }),
    ...(flagOn(flags, "prev-kv") ? { prev_kv: true } : {}),
    ...(flagOn(flags, "ignore-lease") ? { ignore_lease: true } : {}),
  });
  if (!answer.ok) return rpcError(answer.error);
  const response = answer.value;
  return display(parsed, {
    simple: () => format.simplePut(response, simpleOptions(parsed)),
    json: () => [format.putJson(response)],
    fields: () => format.fieldsPut(response),
  });
}

async function del(client: V3Client, parsed: ParsedV3): Promise<CtlResult> {
  const { args, flags } = parsed;
  if (args.length === 0 || args.length > 2) return fail(EXIT_BAD_ARGS, "del command needs one argument as key and an optional argument as range_end");
  const prefix = flagOn(flags, "prefix");
  const fromKey = flagOn(flags, "from-key");
  if (prefix && fromKey) return fail(EXIT_BAD_ARGS, "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  let key = utf8(args[0] as string);
  let rangeEnd: Uint8Array | undefined;
  if (args.length > 1) {
    if (prefix || fromKey) return fail(EXIT_BAD_ARGS, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set.");
    rangeEnd = utf8(args[1] as string);
  }
  if (prefix) {
    if (key.length === 0) {
      key = new Uint8Array([0]);
      rangeEnd = new Uint8Array([0]);
    } else rangeEnd = prefixEnd(key);
  }
  if (fromKey) {
    if (key.length === 0) key = new Uint8Array([0]);
    rangeEnd = new Uint8Array([0]);
  }
  const answer = await client.deleteRange({ key, ...(rangeEnd === undefined ? {} : { range_end: rangeEnd }), ...(flagOn(flags, "prev-kv") ? { prev_kv: true } : {}) });
  if (!answer.ok) return rpcError(answer.error);
  const response = answer.value;
  return display(parsed, {
    simple: () => format.simpleDel(response, simpleOptions(parsed)),
    json: () => [format.delJson(response)],
    fields: () => format.fieldsDel(response),
  });
}

async function compaction(client: V3Client, parsed: ParsedV3): Promise<CtlResult> {
  if (parsed.args.length !== 1) return fail(EXIT_BAD_ARGS, "compaction command needs 1 argument");
  const rev = parseGoInt(parsed.args[0] as string, 10);
  if (typeof rev !== "bigint") return fail(EXIT_ERROR, rev.error);
  const answer = await client.compact({ revision: Number(rev), ...(flagOn(parsed.flags, "physical") ? { physical: true } : {}) });
  if (!answer.ok) return rpcError(answer.error);
  return ok([`compacted revision ${rev}`]);
}

function leaseArg(parsed: ParsedV3, usage: string): bigint | CtlResult {
  if (parsed.args.length !== 1) return fail(EXIT_BAD_ARGS, usage);
  const id = parseGoInt(parsed.args[0] as string, 16);
  if (typeof id !== "bigint") return fail(EXIT_BAD_ARGS, `bad lease ID arg (${id.error}), expecting ID in Hex`);
  return id;
}

async function lease(client: V3Client, parsed: ParsedV3): Promise<CtlResult> {
  switch (parsed.name) {
    case "lease grant": {
      if (parsed.args.length !== 1) return fail(EXIT_BAD_ARGS, "lease grant command needs TTL argument");
      const ttl = parseGoInt(parsed.args[0] as string, 10);
      if (typeof ttl !== "bigint") return fail(EXIT_BAD_ARGS, `bad TTL (${ttl.error})`);
      const answer = await client.leaseGrant({ TTL: Number(ttl) });
      if (!answer.ok) return rpcError(answer.error, EXIT_ERROR, "failed to grant lease");
      const r = answer.value;
      return display(parsed, {
        simple: () => [`lease ${format.leaseHex(r.ID)} granted with TTL(${r.TTL}s)`],
        json: () => [format.leaseGrantJson(r)],
        fields: () => format.fieldsLease(r.header, r.ID, r.TTL),
      });
    }
    case "lease revoke": {
      const id = leaseArg(parsed, "lease revoke command needs 1 argument");
      if (typeof id !== "bigint") return id;
      const answer = await client.leaseRevoke({ ID: id });
      if (!answer.ok) return rpcError(answer.error, EXIT_ERROR, "failed to revoke lease");
      const header = answer.value.header;
      return display(parsed, {
        simple: () => [`lease ${format.leaseHex(id)} revoked`],
        json: () => [format.revokeJson(header)],
        fields: () => format.fieldsHeader(header),
      });
    }
    case "lease timetolive": {
      const id = leaseArg(parsed, "lease timetolive command needs lease ID as argument");
      if (typeof id !== "bigint") return id;
      const keys = flagOn(parsed.flags, "keys");
      const answer = await client.leaseTimeToLive({ ID: id, ...(keys ? { keys: true } : {}) });
      if (!answer.ok) return rpcError(answer.error, EXIT_BAD_CONNECTION);
      const r = answer.value;
      return display(parsed, {
        simple: () => {
          if (r.grantedTTL === 0 && r.TTL === -1) return [`lease ${format.leaseHex(r.ID)} already expired`];
          const attached = keys ? `, attached keys([${r.keys.map(fromUtf8).join(" ")}])` : "";
          return [`lease ${format.leaseHex(r.ID)} granted with TTL(${r.grantedTTL}s), remaining(${r.TTL}s)${attached}`];
        },
        json: () => [format.timeToLiveJson(r)],
        fields: () => format.fieldsTimeToLive(r),
      });
    }
    case "lease keep-alive": {
      const id = leaseArg(parsed, "lease keep-alive command needs lease ID as argument");
      if (typeof id !== "bigint") return id;
      // Without --once etcdctl renews every TTL/3 until interrupted; a script line runs one round.
      const answer = await client.leaseKeepAliveOnce({ ID: id });
      if (!answer.ok) return rpcError(answer.error, EXIT_BAD_CONNECTION);
      const r = answer.value;
      if (r.TTL <= 0) {
        return flagOn(parsed.flags, "once") ? fail(EXIT_BAD_CONNECTION, "etcdserver: requested lease not found") : ok([`lease ${format.leaseHex(id)} expired or revoked.`]);
      }
      return display(parsed, {
        simple: () => [`lease ${format.leaseHex(r.ID)} keepalived with TTL(${r.TTL})`],
        json: () => [format.keepAliveJson(r)],
        fields: () => format.fieldsLease(r.header, r.ID, r.TTL),
      });
    }
    case "lease list": {
      const answer = await client.leaseLeases();
      if (!answer.ok) return rpcError(answer.error, EXIT_BAD_CONNECTION);
      const r = answer.value;
      return display(parsed, {
        simple: () => [`found ${r.leases.length} leases`, ...r.leases.map((l) => format.leaseHex(l.ID))],
        json: () => [format.leasesJson(r)],
        fields: () => format.fieldsLeases(r),
      });
    }
    default:
      return fail(EXIT_ERROR, `unknown command "${parsed.name}"`);
  }
}

// ---- txn ------------------------------------------------------------------------------------------

/** The three prompts `txn -i` prints before reading each block (`txn_command.go`). */
export const TXN_PROMPTS = ["compares:", "success requests (get, put, del):", "failure requests (get, put, del):"] as const;

/**
 * A `txn` being read line by line, as etcdctl's `readCompares`/`readOps` read stdin: each line is
 * parsed as it arrives, a bad one aborts at once (exit 3), a blank line ends the block.
 *
 *   const reader = new TxnReader();
 *   reader.feed('value("k") = "v"')   → undefined (more to read)
 *   reader.feed("")                   → undefined; the prompt is now "success requests …"
 *   …three blank lines in all         → the TxnRequest
 */
export class TxnReader {
  /** 0 compares, 1 success, 2 failure. */
  block = 0;
  private readonly request: TxnRequest = { compare: [], success: [], failure: [] };

  /** A finished request, an error result (exit 3), or undefined while more lines are wanted. */
  feed(line: string): TxnRequest | CtlResult | undefined {
    const text = line.trim();
    if (text === "") {
      this.block += 1;
      return this.block === 3 ? this.request : undefined;
    }
    if (this.block === 0) {
      const compare = parseCompare(text);
      if (typeof compare === "string") return this.abort(compare);
      this.request.compare?.push(compare);
      return undefined;
    }
    const op: RequestOp | string = parseOp(text);
    if (typeof op === "string") return this.abort(op);
    const branch = this.block === 1 ? this.request.success : this.request.failure;
    branch?.push(op);
    return undefined;
  }

  /** Input ended before the third blank line: etcdctl's `Error: EOF`. */
  eof(): CtlResult {
    return fail(EXIT_INVALID_INPUT, "EOF");
  }

  private abort(message: string): CtlResult {
    // etcdctl panics on `==`, `>=`, `<=` and lease compares (exit 2); parseCompare says so in its text.
    if (message.startsWith("panic:")) return { out: [], err: [message], exit: 2 };
    // An op line that fails its command's own argument check exits as that command would (128).
    if (/^(put|get|del) command needs/.test(message)) return fail(EXIT_BAD_ARGS, message);
    return fail(EXIT_INVALID_INPUT, message);
  }
}

/** Sends a read txn and prints it as `txn -w <format>` would. */
export async function runTxn(client: V3Client, parsed: ParsedV3, request: TxnRequest): Promise<CtlResult> {
  const answer = await client.txn(request);
  if (!answer.ok) return rpcError(answer.error);
  const response = answer.value;
  return display(parsed, {
    simple: () => format.simpleTxn(response, simpleOptions(parsed)),
    json: () => [format.txnJson(response)],
    fields: () => format.fieldsTxn(response),
  });
}

/**
 * Runs one complete v3 command other than `txn` and `watch` (the console reads those over several
 * lines or keeps them running). Never throws on bad input.
 */
export async function runV3(client: V3Client, argv: readonly string[]): Promise<CtlResult> {
  const parsed = parseV3(argv);
  if ("exit" in parsed) return parsed;
  switch (parsed.name) {
    case "get":
      return get(client, parsed);
    case "put":
      return put(client, parsed);
    case "del":
      return del(client, parsed);
    case "compaction":
      return compaction(client, parsed);
    case "version":
      return ok(["etcdctl version: 3.4.23", "API version: 3.4"]);
    default:
      if (parsed.name.startsWith("lease ")) return lease(client, parsed);
      return fail(EXIT_ERROR, `${parsed.name} is read over several lines: the console handles it`);
  }
}

/** A V3 answer's error as a result, for callers that build their own requests. */
export function v3Failed<T>(answer: V3Outcome<T>): CtlResult | undefined {
  return answer.ok ? undefined : rpcError(answer.error);
}
