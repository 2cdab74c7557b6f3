//! The metadata log's RPCs over internode messaging: openraft's three RPCs (append
//! entries, vote, snapshot chunks) and Strata's own (propose, join, wait-applied), each a
//! `Verb` with postcard payloads.
//!
//! Invariants:
//! - Every call is bounded: openraft's RPCs by the TTL openraft gives (`RPCOption`), the
//!   others by their caller's deadline.
//! - A messaging failure (timeout, no connection) is `Unreachable` to openraft, which then
//!   backs off instead of retrying in a loop against a down node.
//! - Payloads are encoded without panicking: an encoding failure is an error answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{de::DeserializeOwned, Serialize};
use tokio::time::Instant;

use super::{MetaNode, MetaRaft, NodeId, TypeConfig};
use crate::cluster::messaging::{Inbound, Messaging, MessagingError, Verb};

/// Encodes a payload (postcard), reporting instead of panicking.
pub(super) fn to_bytes<T: Serialize>(value: &T) -> Result<Bytes, String> {
    postcard::to_stdvec(value)
        .map(Bytes::from)
        .map_err(|e| format!("cannot encode metadata message: {e}"))
}

pub(super) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("undecodable metadata message: {e}"))
}

/// One typed request to `peer`.
pub(super) async fn call<Req: Serialize, Resp: DeserializeOwned>(
    messaging: &Messaging,
    peer: SocketAddr,
    verb: Verb,
    request: &Req,
    deadline: Instant,
) -> Result<Resp, MessagingError> {
    let payload = to_bytes(request).map_err(MessagingError::Decode)?;
    let response = messaging
        .send_request(peer, verb, payload, deadline)
        .await?;
    from_bytes(&response.payload).map_err(MessagingError::Decode)
}

/// Serves `verb` with `handle`, which gets the decoded request.
pub(super) fn serve<Req, Resp, F, Fut>(messaging: &Messaging, verb: Verb, handle: F)
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    F: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Resp> + Send + 'static,
{
    let handle = Arc::new(handle);
    messaging.register(verb, move |inbound: Inbound| {
        let handle = handle.clone();
        async move {
            let request: Req = from_bytes(&inbound.payload)?;
            to_bytes(&handle(request).await)
        }
    });
}

/// Serves openraft's RPCs for `raft`.
pub(super) fn serve_raft(messaging: &Messaging, raft: &MetaRaft) {
    let r = raft.clone();
    serve(
        messaging,
        Verb::MetadataAppend,
        move |request: AppendEntriesRequest<TypeConfig>| {
            let raft = r.clone();
            async move { raft.append_entries(request).await }
        },
    );
    let r = raft.clone();
    serve(
        messaging,
        Verb::MetadataVote,
        move |request: VoteRequest<NodeId>| {
            let raft = r.clone();
            async move { raft.vote(request).await }
        },
    );
    let r = raft.clone();
    serve(
        messaging,
        Verb::MetadataSnapshot,
        move |request: InstallSnapshotRequest<TypeConfig>| {
            let raft = r.clone();
            async move { raft.install_snapshot(request).await }
        },
    );
}

/// Opens `Peer`s on the node's messaging.
pub struct Network {
    messaging: Messaging,
}

impl Network {
    pub fn new(messaging: Messaging) -> Network {
        Network { messaging }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &MetaNode) -> Peer {
        Peer {
            messaging: self.messaging.clone(),
            target,
            address: node.addr.parse().ok(),
        }
    }
}

/// One peer of the metadata group.
pub struct Peer {
    messaging: Messaging,
    target: NodeId,
    address: Option<SocketAddr>,
}

impl Peer {
    async fn rpc<Req, Resp, E>(
        &self,
        verb: Verb,
        request: &Req,
        ttl: Duration,
    ) -> Result<Resp, RPCError<NodeId, MetaNode, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let Some(address) = self.address else {
            let error = MessagingError::Remote(format!("node {} has no address", self.target));
            return Err(RPCError::Network(NetworkError::new(&error)));
        };
        let answer: Result<Resp, RaftError<NodeId, E>> = call(
            &self.messaging,
            address,
            verb,
            request,
            Instant::now() + ttl,
        )
        .await
        .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        request: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, MetaNode, RaftError<NodeId>>> {
        self.rpc(Verb::MetadataAppend, &request, option.hard_ttl())
            .await
    }

    async fn install_snapshot(
        &mut self,
        request: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, MetaNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.rpc(Verb::MetadataSnapshot, &request, option.hard_ttl())
            .await
    }

    async fn vote(
        &mut self,
        request: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, MetaNode, RaftError<NodeId>>> {
        self.rpc(Verb::MetadataVote, &request, option.hard_ttl())
            .await
    }
}
