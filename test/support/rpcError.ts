/** Test helper: the RpcError a synchronous server call throws (any other outcome fails the test). */
import { RpcError } from "../../v3/errors.js";

export function rpcError(call: () => unknown): RpcError {
  try {
    call();
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error("expected an RpcError");
}
