/**
 * `both …`: one operation, written once, mapped onto each API's own command, so a class sees the
 * same intent land in v2's tree and v3's revision log. The mapping is the obvious one, and where
 * v2 has nothing to map to, the console says so and why instead of inventing a command:
 *
 *   both …                     v3 (etcdctl)                  v2 (ETCDCTL_API=2 etcdctl)
 *   put k v                    put k v                       set /k v
 *   put k v --ttl 10           lease grant 10; put k v --lease=ID   set /k v --ttl 10
 *   get k                      get k                         get /k
 *   get k --prefix             get k --prefix                ls --sort -r /k    (v2 lists keys; values need -o json)
 *   del k [--prefix]           del k [--prefix]              rm /k  [rm -r /k]
 *   watch k [--prefix] &       watch k [--prefix] &          watch --forever [-r] /k &
 *   get k --rev=N, get a b, get --from-key, lease …, compaction N, txn    no v2 equivalent (said plainly)
 */
import { parseFlags, flagOn, type FlagSpec } from "./etcdctlArgs.js";
import { v2Key } from "./etcdctlV2.js";

export interface BothPlan {
  /** The v3 command line to run. */
  v3: string[];
  /** The v2 command line, or undefined when v2 has no equivalent. */
  v2?: string[];
  /** Why v2 has no equivalent. */
  v2Missing?: string;
  /** `put --ttl N`: grant a lease of N seconds first and attach the put to it. */
  v3LeaseTtl?: number;
}

const LOOSE: FlagSpec[] = [
  { name: "ttl", kind: "value" },
  { name: "prefix", kind: "bool" },
  { name: "from-key", kind: "bool" },
  { name: "rev", kind: "value" },
  { name: "prev-kv", kind: "bool" },
  { name: "write-out", short: "w", kind: "value" },
  { name: "keys-only", kind: "bool" },
  { name: "limit", kind: "value" },
  { name: "order", kind: "value" },
  { name: "sort-by", kind: "value" },
  { name: "print-value-only", kind: "bool" },
];

const NO_LEASES = "v2 has no leases: a TTL belongs to one key (try: both put KEY VALUE --ttl N)";

/** The plan for `both <argv>`. Flags v2 cannot take stay on the v3 side only. */
export function bothMapping(argv: readonly string[]): BothPlan {
  const [command, ...rest] = argv;
  const v3 = [...argv];
  const parsed = parseFlags(rest, LOOSE);
  if (command === undefined) return { v3: ["help"], v2Missing: "both needs a command: both put k v" };
  if ("error" in parsed) return { v3, v2Missing: `v2 side not run (${parsed.error})` };
  const key = parsed.args[0];
  const flags = parsed.flags;
  switch (command) {
    case "put": {
      if (key === undefined || parsed.args[1] === undefined) return { v3, v2: ["set", ...parsed.args.map((a, i) => (i === 0 ? v2Key(a) : a))] };
      const ttl = flags["ttl"];
      const withoutTtl = removeFlag(argv, "ttl");
      const plan: BothPlan = { v3: withoutTtl, v2: ["set", v2Key(key), parsed.args[1], ...(ttl === undefined ? [] : ["--ttl", ttl])] };
      if (ttl !== undefined && /^\d+$/.test(ttl)) plan.v3LeaseTtl = Number(ttl);
      return plan;
    }
    case "get":
      if (key === undefined) return { v3, v2: ["get"] };
      if (flags["rev"] !== undefined) return { v3, v2Missing: "v2 keeps only each key's current value: there is no read at an old revision" };
      if (flagOn(flags, "from-key") || parsed.args.length > 1) return { v3, v2Missing: "v2 has no key ranges: it reads one key or one directory" };
      if (flagOn(flags, "prefix")) return { v3, v2: ["ls", "--sort", "-r", v2Key(key)] };
      return { v3, v2: ["get", v2Key(key)] };
    case "del":
      if (key === undefined) return { v3, v2: ["rm"] };
      if (flagOn(flags, "from-key") || parsed.args.length > 1) return { v3, v2Missing: "v2 has no key ranges: it deletes one key or one directory" };
      return { v3, v2: ["rm", ...(flagOn(flags, "prefix") ? ["-r"] : []), v2Key(key)] };
    case "watch":
      if (key === undefined) return { v3, v2: ["watch"] };
      if (flags["rev"] !== undefined) return { v3, v2Missing: "a v3 revision is not a v2 index: resume a v2 watch with v2 watch --after-index INDEX" };
      return { v3, v2: ["watch", "--forever", ...(flagOn(flags, "prefix") ? ["-r"] : []), v2Key(key)] };
    case "lease":
      return { v3, v2Missing: NO_LEASES };
    case "compaction":
      return { v3, v2Missing: "v2 keeps no history to compact: its event window holds the last 1000 events and forgets older ones by itself" };
    default:
      return { v3, v2Missing: `no v2 mapping for ${command}` };
  }
}

/** Drops `--name V` / `--name=V` from a command line. */
function removeFlag(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === `--${name}`) i += 1;
    else if (!word.startsWith(`--${name}=`)) out.push(word);
  }
  return out;
}

/** What `both txn` says: v2 cannot make several keys change together. */
export const BOTH_TXN_REFUSAL =
  "run txn on its own line: v2 has no transactions, it compares one key per request (v2 set KEY NEW --swap-with-value OLD) and cannot change several keys together";
