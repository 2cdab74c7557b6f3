//! The CQL connections open now, for `system_views.clients` (Cassandra's `ClientMetrics`
//! connected clients).
//!
//! Invariants: a connection is listed from its accept to its close (the [`ClientHandle`]
//! unregisters it when dropped, whatever ends the connection); the request path touches
//! only one relaxed atomic per request (`request_count`); everything else changes once per
//! connection (STARTUP, login) or per `USE`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Where a connection is in its handshake (Cassandra's `ConnectionStage`, printed in lower
/// case).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    /// Before STARTUP.
    #[default]
    Established,
    /// STARTUP done, waiting for the login an authenticator asks for.
    Authenticating,
    Ready,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Established => "established",
            Stage::Authenticating => "authenticating",
            Stage::Ready => "ready",
        }
    }
}

/// The TLS session of a connection, named as Java's `SSLSession` names it
/// (`TLSv1.3`, `TLS_AES_256_GCM_SHA384`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSession {
    pub protocol: String,
    pub cipher_suite: String,
}

/// What a client told us at STARTUP, and what it did since.
#[derive(Clone, Debug, Default)]
pub struct ClientState {
    pub stage: Stage,
    /// The role it logged in as (an authenticator is configured).
    pub user: Option<String>,
    pub protocol_version: Option<u8>,
    /// The STARTUP options as sent (CQL_VERSION, DRIVER_NAME, DRIVER_VERSION, ...).
    pub options: BTreeMap<String, String>,
    pub keyspace: Option<String>,
}

/// One connection as `system_views.clients` shows it.
#[derive(Debug)]
pub struct Client {
    pub address: SocketAddr,
    /// `None`: a plain-text connection.
    pub tls: Option<TlsSession>,
    requests: AtomicU64,
    state: Mutex<ClientState>,
}

impl Client {
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn state(&self) -> ClientState {
        lock(&self.state).clone()
    }

    /// A STARTUP option by name, in any case (drivers send upper case).
    pub fn option<'s>(state: &'s ClientState, name: &str) -> Option<&'s str> {
        state
            .options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every open connection, by registration id.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<Client>>>,
    next_id: AtomicU64,
}

impl ClientRegistry {
    /// Lists a connection until the returned handle is dropped.
    pub fn register(
        self: &Arc<Self>,
        address: SocketAddr,
        tls: Option<TlsSession>,
    ) -> ClientHandle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let client = Arc::new(Client {
            address,
            tls,
            requests: AtomicU64::new(0),
            state: Mutex::new(ClientState::default()),
        });
        lock(&self.clients).insert(id, client.clone());
        ClientHandle {
            registry: self.clone(),
            id,
            client,
        }
    }

    /// The connections open now, ordered by address and port (as Cassandra's table is).
    pub fn all(&self) -> Vec<Arc<Client>> {
        let mut clients: Vec<Arc<Client>> = lock(&self.clients).values().cloned().collect();
        clients.sort_by_key(|c| (c.address.ip(), c.address.port()));
        clients
    }
}

/// A connection's entry in the registry; unregisters it on drop.
#[derive(Debug)]
pub struct ClientHandle {
    registry: Arc<ClientRegistry>,
    id: u64,
    client: Arc<Client>,
}

impl ClientHandle {
    /// STARTUP succeeded with these options on this protocol version; `authenticating`:
    /// a login must follow.
    pub fn started(
        &self,
        options: &BTreeMap<String, String>,
        protocol_version: Option<u8>,
        authenticating: bool,
    ) {
        let mut state = lock(&self.client.state);
        state.stage = if authenticating {
            Stage::Authenticating
        } else {
            Stage::Ready
        };
        state.options = options.clone();
        state.protocol_version = protocol_version;
    }

    /// The client logged in as `user`.
    pub fn logged_in(&self, user: &str) {
        let mut state = lock(&self.client.state);
        state.stage = Stage::Ready;
        state.user = Some(user.to_string());
    }

    pub fn request(&self) {
        self.client.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_keyspace(&self, keyspace: &str) {
        lock(&self.client.state).keyspace = Some(keyspace.to_string());
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        lock(&self.registry.clients).remove(&self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_listed_until_its_handle_drops() {
        let registry = Arc::new(ClientRegistry::default());
        let tls = TlsSession {
            protocol: "TLSv1.3".into(),
            cipher_suite: "TLS_AES_256_GCM_SHA384".into(),
        };
        let a = registry.register("127.0.0.2:4000".parse().unwrap(), Some(tls.clone()));
        let b = registry.register("127.0.0.1:5000".parse().unwrap(), None);
        let options = BTreeMap::from([("DRIVER_NAME".to_string(), "x".to_string())]);
        a.started(&options, Some(5), true);
        assert_eq!(registry.all()[1].state().stage, Stage::Authenticating);
        a.logged_in("alice");
        a.request();
        a.request();
        a.set_keyspace("ks");
        let all = registry.all();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].address.port(), 5000, "ordered by address");
        let state = all[1].state();
        assert!(state.stage == Stage::Ready && state.protocol_version == Some(5));
        assert_eq!(state.user.as_deref(), Some("alice"));
        assert_eq!(all[1].tls, Some(tls));
        assert_eq!(all[0].tls, None);
        assert_eq!(Client::option(&state, "driver_name"), Some("x"));
        assert_eq!(state.keyspace.as_deref(), Some("ks"));
        assert_eq!(all[1].request_count(), 2);
        assert_eq!(all[0].state().stage, Stage::Established);
        drop(b);
        drop(a);
        assert!(registry.all().is_empty());
    }
}
