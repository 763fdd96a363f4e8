/**
 * Mirrors etcd release-3.4 `etcdserver/server.go` (`AddMember`, `RemoveMember`, `UpdateMember`,
 * `PromoteMember` → `configure`, and `applyConfChange`): a membership change as the raft ConfChange
 * entry a member logs, and the way a committed one is applied.
 *
 *   MemberAdd  ["http://10.0.0.9:2380"] learner  →  ConfChange{Type AddLearnerNode, NodeID 1a2b…,
 *                                                   Context {"id":1885…,"peerURLs":["http://10.0.0.9:2380"],"isLearner":true}}
 *   MemberRemove 1a2b…                           →  ConfChange{Type RemoveNode, NodeID 1a2b…}
 *   MemberUpdate 1a2b… [urls]                    →  ConfChange{Type UpdateNode, NodeID 1a2b…, Context {"id":…,"peerURLs":[…]}}
 *   MemberPromote 1a2b…                          →  ConfChange{Type AddNode, NodeID 1a2b…, Context {…member…,"isPromote":true}}
 *
 * Applying one first runs the apply-time checks on the v3 member list (cluster.ts
 * `ValidateConfigurationChange`); a change they refuse stays in the log and changes nothing, the same
 * way on replay. An accepted change updates the member list (and its `members` bucket) and the v2
 * store's `/0` records (membershipStore.ts), which use v2 indexes as in etcd.
 */
import type { Store } from "../v2/store.js";
import type { RaftCluster } from "../v3/cluster.js";
import { memberJson } from "../v3/cluster.js";
import type { Member } from "../v3/rpc.js";
import { deleteMemberFromStore, saveMemberToStore, updateMemberInStore } from "./membershipStore.js";
import { ConfChangeType, type ConfChange } from "./raftpb.js";

/** The ConfChange context etcd marshals: the member's JSON, with `"isPromote":true` for a promotion. */
interface ConfChangeContext {
  readonly peerURLs?: string[];
  readonly isLearner?: boolean;
  readonly isPromote?: boolean;
}

/** The ConfChange a MemberAdd logs (the member as `proposeAdd` made it). */
export function addMemberChange(member: Member): ConfChange {
  return change(member.isLearner ? ConfChangeType.addLearnerNode : ConfChangeType.addNode, member.ID, memberJson(member));
}

export function removeMemberChange(id: bigint): ConfChange {
  return change(ConfChangeType.removeNode, id, "");
}

/** MemberUpdate's ConfChange: only the ID and the new peer URLs (so no learner flag: cluster.ts's quirk). */
export function updateMemberChange(id: bigint, peerURLs: readonly string[]): ConfChange {
  return change(ConfChangeType.updateNode, id, memberJson({ ID: id, name: "", peerURLs: [...peerURLs], clientURLs: [], isLearner: false }));
}

/** MemberPromote's ConfChange: an AddNode whose context is the learner with `isPromote` (etcd's ConfigChangeContext). */
export function promoteMemberChange(member: Member): ConfChange {
  return change(ConfChangeType.addNode, member.ID, `${memberJson(member).slice(0, -1)},"isPromote":true}`);
}

function change(type: number, nodeId: bigint, context: string): ConfChange {
  return { id: 0n, type, nodeId, context: new TextEncoder().encode(context) };
}

/**
 * Applies a committed ConfChange to the member list (when a v3 server is mounted) and the v2 store.
 * `cluster` undefined: only the v2 store's records (a member serving v2 alone). The local member's own
 * start-up AddNode finds itself already listed and writes only its `/0` record. Throws the RpcError the
 * apply-time checks raise, having changed nothing; returns the member added or promoted.
 */
export function applyConfChange(cc: ConfChange, store: Store, cluster: RaftCluster | undefined): Member | undefined {
  const context = (cc.context.length > 0 ? JSON.parse(new TextDecoder().decode(cc.context)) : {}) as ConfChangeContext;
  const peerURLs = context.peerURLs ?? [];
  const id = cc.nodeId;
  switch (cc.type) {
    case ConfChangeType.addNode:
    case ConfChangeType.addLearnerNode: {
      if (context.isPromote === true) {
        const promoted = cluster?.applyPromote(id);
        updateMemberInStore(store, id, peerURLs, false);
        return promoted;
      }
      const isLearner = cc.type === ConfChangeType.addLearnerNode;
      const bootstrap = cluster !== undefined && id === cluster.localID && cluster.has(id);
      const added = cluster === undefined || bootstrap ? undefined : cluster.applyAdd({ ID: id, name: "", peerURLs, clientURLs: [], isLearner });
      saveMemberToStore(store, id, peerURLs, isLearner);
      return added;
    }
    case ConfChangeType.removeNode:
      cluster?.applyRemove(id);
      deleteMemberFromStore(store, id);
      return undefined;
    case ConfChangeType.updateNode:
      cluster?.applyUpdate(id, peerURLs);
      updateMemberInStore(store, id, peerURLs, false);
      return undefined;
    default:
      throw new Error(`unknown ConfChange type ${cc.type}`);
  }
}
