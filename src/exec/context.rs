//! What every layer of the executor shares: a statement's `Context` (the node, one
//! catalog snapshot, the session keyspace) and the result type of schema statements.

use std::sync::Arc;

use strata_engine::VersionId;
use strata_protocol::{ResultBody, SchemaChange};

use crate::cluster::consistency::Replication;
use crate::cql::ast::QualifiedName;
use crate::error::{CqlError, CqlResult};
use crate::node::Node;
use crate::schema::{Catalog, Table};

/// The result of a statement plus its effect on the session and on listeners.
#[derive(Debug)]
pub struct Outcome {
    pub body: ResultBody,
    /// `USE` switched the connection to this keyspace.
    pub keyspace: Option<String>,
    /// A schema change to announce to registered connections.
    pub event: Option<SchemaChange>,
    /// Client warnings sent with the response (the frame's Warning flag), as Cassandra's
    /// `ClientWarn` collects them.
    pub warnings: Vec<String>,
}

impl Outcome {
    pub fn body(body: ResultBody) -> Outcome {
        Outcome {
            body,
            keyspace: None,
            event: None,
            warnings: Vec::new(),
        }
    }

    pub fn void() -> Outcome {
        Outcome::body(ResultBody::Void)
    }
}

/// Result of a DDL: the event to report, or `None` when IF [NOT] EXISTS made it a no-op.
pub type DdlOutcome = Option<SchemaChange>;

/// A statement's view of the node: one catalog snapshot, the session keyspace and user.
pub struct Context<'a> {
    pub node: &'a Node,
    pub catalog: Arc<Catalog>,
    pub keyspace: Option<&'a str>,
    /// The logged-in role (`None` without an authenticator: nothing is checked then).
    pub user: Option<&'a str>,
    /// A statement the node runs for itself (role management on `system_auth`): it may
    /// write system_auth tables and is not authorized (Cassandra's internal `ClientState`).
    pub internal: bool,
}

impl<'a> Context<'a> {
    pub fn new(node: &'a Node, keyspace: Option<&'a str>) -> Context<'a> {
        Context {
            node,
            catalog: node.catalog(),
            keyspace,
            user: None,
            internal: false,
        }
    }

    /// The same context for statements of the logged-in `user`.
    pub fn for_user(self, user: Option<&'a str>) -> Context<'a> {
        Context { user, ..self }
    }

    /// A context for the node's own statements on `system_auth`.
    pub fn internal(node: &'a Node) -> Context<'a> {
        Context {
            internal: true,
            ..Context::new(node, None)
        }
    }

    /// The keyspace a name refers to: its own, else the session's.
    pub fn keyspace_of(&self, name: &QualifiedName) -> CqlResult<String> {
        self.keyspace_name(name).map(str::to_string)
    }

    /// `keyspace_of` without the copy (every statement resolves its table through this).
    fn keyspace_name<'n>(&'n self, name: &'n QualifiedName) -> CqlResult<&'n str> {
        match (&name.keyspace, self.keyspace) {
            (Some(ks), _) => Ok(ks),
            (None, Some(ks)) => Ok(ks),
            (None, None) => Err(CqlError::invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")),
        }
    }

    pub fn resolve_table(&self, name: &QualifiedName) -> CqlResult<Arc<Table>> {
        let keyspace = self.keyspace_name(name)?;
        let ks = self
            .catalog
            .keyspace(keyspace)
            .ok_or_else(|| CqlError::invalid(format!("keyspace {keyspace} does not exist")))?;
        ks.tables
            .get(&name.name)
            .cloned()
            .ok_or_else(|| CqlError::invalid(format!("table {} does not exist", name.name)))
    }

    /// Refuses `what` on a keyspace with more than one replica: `protocol`, which would keep
    /// its replicas consistent, is not implemented yet, and single-node semantics on
    /// replicated data would be silently wrong. With replication factor 1 it runs as before.
    pub fn require_single_replica(
        &self,
        keyspace: &str,
        what: &str,
        protocol: &str,
    ) -> CqlResult<()> {
        let Some(ks) = self.catalog.keyspace(keyspace) else {
            return Ok(());
        };
        match Replication::from_options(&ks.def.replication).total() {
            0 | 1 => Ok(()),
            rf => Err(CqlError::invalid(format!(
                "{what} not supported yet on keyspace {keyspace} (replication factor {rf}): Strata does not run {protocol} across replicas yet; use a keyspace with replication factor 1"
            ))),
        }
    }

    /// Refuses `what` on a cluster of several nodes: snapshots are per node, so a clone or
    /// restore would give the other nodes' replicas empty tables.
    pub fn require_single_node(&self, what: &str) -> CqlResult<()> {
        match self.node.metadata().members().len() {
            0 | 1 => Ok(()),
            nodes => Err(CqlError::invalid(format!(
                "{what} not supported yet on a cluster of {nodes} nodes: Strata does not take cluster-wide snapshots yet"
            ))),
        }
    }

    /// The frozen version of `table` in snapshot `tag` (reads `AT SNAPSHOT`).
    pub fn snapshot_version(&self, table: &Table, tag: &str) -> CqlResult<VersionId> {
        snapshot_version(&self.catalog, table, tag)
    }
}

/// The frozen version of `table` in snapshot `tag` (`AT SNAPSHOT`, `RESTORE`, `CLONE`).
pub fn snapshot_version(catalog: &Catalog, table: &Table, tag: &str) -> CqlResult<VersionId> {
    catalog
        .snapshot(tag, &table.def.keyspace, &table.def.name)
        .filter(|r| r.table_id.is_none_or(|id| id == table.def.id))
        .map(|r| r.version)
        .ok_or_else(|| {
            CqlError::invalid(format!(
                "Snapshot '{tag}' does not exist for table {}.{}",
                table.def.keyspace, table.def.name
            ))
        })
}
