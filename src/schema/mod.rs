//! Schema: definitions (`defs`), the published in-memory `Catalog`, its persistence in the
//! engine (`store`) and the built-in system keyspaces (`system_defs`).

pub mod catalog;
pub mod defs;
pub mod store;
pub mod system_defs;

pub use catalog::{indexed_type, Catalog, Keyspace, KeyspaceUdts, Table, TableSource};
pub use defs::{
    ClusteringOrder, ColumnDef, ColumnKind, DroppedColumn, IndexDef, IndexTargetKind, KeyspaceDef,
    NodeRecord, RemovedNode, SnapshotRecord, TableDef, TableOptions, TypeDef, ViewInfo, ViewRecord,
};
pub use store::{SchemaStore, SchemaWrite};
