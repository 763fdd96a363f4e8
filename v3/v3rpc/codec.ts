/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/codec.go` (the gRPC codec: protobuf bytes ↔
 * messages): etcd's own `.proto` files, loaded at start, turned into grpc-js service definitions
 * whose (de)serializers speak the plain `v3/rpc.ts` types the rest of etcdsim uses.
 *
 * The `.proto` files are the one description of the wire. `rpc.proto`, `kv.proto` and `auth.proto`
 * come with the `etcd3` package; `proto/v3election.proto`, `proto/v3lock.proto` and
 * `proto/health.proto` sit in this repository. protobufjs reads them (the same library
 * `@grpc/proto-loader` wraps); its reflection tells this file each field's kind, and one rule per
 * kind (the rules of `v3/rpc.ts`) turns a decoded message into an rpc.ts object and back:
 *
 *   wire kind                         rpc.ts                     example
 *   bytes                             Uint8Array (a Buffer)      key "foo"
 *   int64/uint64 named as an ID        bigint                     lease, ID, cluster_id, member_id, leader, memberID, targetID
 *   any other 64-bit integer           number                     revision 16, TTL 60
 *   enum                              number                     sort_order 2 (DESCEND)
 *   a scalar left out                 its zero (0, 0n, "", false, empty bytes), repeated → []
 *   a message left out                undefined                  prev_kv of a put on a new key
 *
 * Encoding drops zero scalars and empty lists, as Go's marshaller does, so the bytes on the wire
 * are the ones etcd would send. Decoding failures and oversized messages do not throw inside
 * grpc-js (which would answer with its own texts): the deserializer returns a `WireError` that
 * the service wrapper (util.ts) answers with etcd's code and text.
 *
 *   decode(PutRequest, 0a 03 66 6f 6f 12 03 62 61 72)  → {key: "foo", value: "bar", lease: 0n, prev_kv: false, …}
 *   encode(ResponseHeader, {cluster_id: 1n, member_id: 2n, revision: 0, raft_term: 2}) → 08 01 10 02 20 02
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import type { ServiceDefinition, MethodDefinition } from "@grpc/grpc-js";

/** Where etcd's own rpc.proto, kv.proto and auth.proto are (shipped by the `etcd3` package). */
const ETCD3_PROTO_DIR = join(dirname(createRequire(import.meta.url).resolve("etcd3/package.json")), "proto");
/** This repository's proto/ folder (v3election, v3lock, health). */
const REPO_PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "proto");

/** The files loaded, by include-relative name. */
export const PROTO_FILES = ["rpc.proto", "raft_internal.proto", "v3election.proto", "v3lock.proto", "health.proto"] as const;

/** 64-bit integer fields that carry IDs (all 64 bits used): bigint in rpc.ts. */
const BIGINT_FIELDS: ReadonlySet<string> = new Set(["lease", "ID", "cluster_id", "member_id", "leader", "memberID", "targetID"]);

const LONG_TYPES: ReadonlySet<string> = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

/** An error the transport answers instead of running the handler: a bad or oversized message. */
export class WireError {
  constructor(
    readonly code: number,
    readonly message: string,
  ) {}
}

/** How one field is converted; computed once per message type. */
interface FieldPlan {
  readonly name: string;
  readonly kind: "long" | "bigint" | "bytes" | "message" | "other";
  readonly repeated: boolean;
  readonly oneof: boolean;
  /** For message fields: the nested plan (resolved lazily: messages refer to each other). */
  readonly type: protobuf.Type | undefined;
  /** The zero an absent singular scalar reads as. */
  readonly zero: unknown;
}

/**
 * The per-type conversion plans, computed once per message type and kept for the registry's life
 * (etcd's generated marshal code plays this part; here it is read off protobufjs's reflection).
 */
class WirePlans {
  private readonly plans = new WeakMap<protobuf.Type, readonly FieldPlan[]>();

  private planOf(type: protobuf.Type): readonly FieldPlan[] {
    let plan = this.plans.get(type);
    if (plan !== undefined) return plan;
    plan = type.fieldsArray.map((field): FieldPlan => {
      field.resolve();
      const message = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
      const kind: FieldPlan["kind"] =
        message !== undefined ? "message"
        : field.type === "bytes" ? "bytes"
        : LONG_TYPES.has(field.type) ? (BIGINT_FIELDS.has(field.name) ? "bigint" : "long")
        : "other";
      const zero =
        kind === "bytes" ? new Uint8Array(0)
        : kind === "bigint" ? 0n
        : kind === "long" ? 0
        : field.type === "bool" ? false
        : field.type === "string" ? ""
        : 0; // enums and 32-bit numbers
      return { name: field.name, kind, repeated: field.repeated, oneof: field.partOf !== null, type: message, zero };
    });
    this.plans.set(type, plan);
    return plan;
  }

  /** A decoded 64-bit value (a Long, or a number when it fits) → number. */
  private longToNumber(value: unknown): number {
    return typeof value === "number" ? value : Number((value as protobuf.Long).toString());
  }

  /** A decoded 64-bit value → bigint, keeping the sign protobuf gave it (int64 signed, uint64 not). */
  private longToBigint(value: unknown): bigint {
    return typeof value === "number" ? BigInt(value) : BigInt((value as protobuf.Long).toString());
  }

  private fromWireValue(plan: FieldPlan, value: unknown): unknown {
    switch (plan.kind) {
      case "long":
        return this.longToNumber(value);
      case "bigint":
        return this.longToBigint(value);
      case "message":
        return this.fromWire(plan.type as protobuf.Type, value as protobuf.Message);
      default:
        return value; // bytes arrive as Buffer (a Uint8Array); strings, bools, enums as they are
    }
  }

  /** A decoded protobufjs message → the rpc.ts object (rules in the header). */
  fromWire(type: protobuf.Type, message: protobuf.Message): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const source = message as unknown as Record<string, unknown>;
    for (const plan of this.planOf(type)) {
      const present = Object.prototype.hasOwnProperty.call(source, plan.name) && source[plan.name] != null;
      if (plan.repeated) {
        const list = present ? (source[plan.name] as unknown[]) : [];
        out[plan.name] = list.map((item) => this.fromWireValue(plan, item));
      } else if (present) {
        out[plan.name] = this.fromWireValue(plan, source[plan.name]);
      } else if (plan.kind !== "message" && !plan.oneof) {
        out[plan.name] = plan.zero instanceof Uint8Array ? new Uint8Array(0) : plan.zero;
      }
    }
    return out;
  }

  private isZero(value: unknown): boolean {
    return value === 0 || value === 0n || value === false || value === "" || (value instanceof Uint8Array && value.length === 0);
  }

  private toWireValue(plan: FieldPlan, value: unknown): unknown {
    if (plan.kind === "message") return this.toWire(plan.type as protobuf.Type, value as Record<string, unknown>);
    if (typeof value === "bigint") return value.toString();
    return value;
  }

  /**
   * An rpc.ts object → a plain object protobufjs encodes: bigints as decimal strings, zero scalars
   * and empty lists left out (a set oneof member is kept even when zero, as Go writes it).
   */
  toWire(type: protobuf.Type, object: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const plan of this.planOf(type)) {
      const value = object[plan.name];
      if (value === undefined || value === null) continue;
      if (plan.repeated) {
        const list = value as unknown[];
        if (list.length > 0) out[plan.name] = list.map((item) => this.toWireValue(plan, item));
      } else if (plan.kind === "message" || plan.oneof || !this.isZero(value)) {
        out[plan.name] = this.toWireValue(plan, value);
      }
    }
    return out;
  }
}

/**
 * Go's protobuf decoder names a truncated message "unexpected EOF"; protobufjs says "index out of
 * range: 12 + 3 > 13". Other failures keep protobufjs's text.
 */
function goUnmarshalText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return /index out of range/.test(text) ? "unexpected EOF" : text;
}

/** The loaded .proto files with lookups by full name ("etcdserverpb.PutRequest"). */
export class ProtoRegistry {
  readonly root: protobuf.Root;
  private readonly wire = new WirePlans();

  constructor() {
    const root = new protobuf.Root();
    // Imports are resolved against etcd3's folder first, then this repository's.
    root.resolvePath = (_origin, target) => {
      const name = target.replace(/^\.\//, "").split("/").pop() as string;
      return name === "rpc.proto" || name === "kv.proto" || name === "auth.proto" ? join(ETCD3_PROTO_DIR, name) : join(REPO_PROTO_DIR, name);
    };
    root.loadSync([...PROTO_FILES], { keepCase: true });
    root.resolveAll();
    this.root = root;
  }

  type(fullName: string): protobuf.Type {
    return this.root.lookupType(fullName);
  }

  service(fullName: string): protobuf.Service {
    return this.root.lookupService(fullName);
  }

  /** Bytes → rpc.ts object; a message past `maxBytes` or one that does not parse → WireError. */
  decode(type: protobuf.Type, bytes: Buffer, maxBytes: number): Record<string, unknown> | WireError {
    // grpc-go checks the size before decoding: code 8 with its own text.
    if (bytes.length > maxBytes) return new WireError(8, `grpc: received message larger than max (${bytes.length} vs. ${maxBytes})`);
    try {
      return this.wire.fromWire(type, type.decode(bytes));
    } catch (error) {
      return new WireError(13, `grpc: error unmarshalling request: ${goUnmarshalText(error)}`);
    }
  }

  encode(type: protobuf.Type, object: Readonly<Record<string, unknown>>): Buffer {
    const bytes = type.encode(this.wire.toWire(type, object)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * A grpc-js service definition for `fullName` ("etcdserverpb.KV"), keyed by method name
   * (`Range`, `Put`, …), whose requests arrive as rpc.ts objects (or WireError) and whose
   * responses are rpc.ts objects.
   */
  serviceDefinition(fullName: string, maxReceiveBytes: number): ServiceDefinition {
    const service = this.service(fullName);
    const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
    for (const method of service.methodsArray) {
      method.resolve();
      const requestType = method.resolvedRequestType as protobuf.Type;
      const responseType = method.resolvedResponseType as protobuf.Type;
      definition[method.name] = {
        path: `/${fullName}/${method.name}`,
        requestStream: method.requestStream === true,
        responseStream: method.responseStream === true,
        requestSerialize: (value: unknown) => this.encode(requestType, value as Record<string, unknown>),
        requestDeserialize: (bytes: Buffer) => this.decode(requestType, bytes, maxReceiveBytes),
        responseSerialize: (value: unknown) => this.encode(responseType, value as Record<string, unknown>),
        responseDeserialize: (bytes: Buffer) => this.decode(responseType, bytes, Number.MAX_SAFE_INTEGER),
        originalName: method.name,
      };
    }
    return definition as ServiceDefinition;
  }
}
