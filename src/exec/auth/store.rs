//! The `system_auth` tables, read and written as Cassandra's `CassandraRoleManager` and
//! `CassandraAuthorizer` do: with CQL statements the node runs for itself, through the
//! coordinator like any table's rows (so replication will cover them as it covers user
//! tables). Each change is one batch, hence one atomic write.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use strata_engine::ROOT_VERSION;
use strata_protocol::{Consistency, ResultBody};

use crate::auth::{AuthResource, AuthState, RoleRecord, Subject, TimedCache, DEFAULT_SUPERUSER};
use crate::cql::ast::{Permission, Statement};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::exec::expr::collections;
use crate::exec::expr::eval::BoundValues;
use crate::exec::read::select::{self, SelectOptions};
use crate::exec::write::modify::{self, Modification, WriteOptions};
use crate::node::Node;
use crate::schema::system_defs::auth_tables;
use crate::schema::SchemaWrite;

/// Role and permission reads and writes: Cassandra 5.0's `auth_read_consistency_level`
/// and `auth_write_consistency_level` defaults. With `system_auth`'s default factor of 1
/// they mean the one replica; with a raised factor a node that missed a change is
/// repaired by the next read instead of serving it stale.
const READ_CONSISTENCY: Consistency = Consistency::LocalQuorum;
const WRITE_CONSISTENCY: Consistency = Consistency::EachQuorum;

/// A CQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A CQL set literal of strings.
fn set_literal<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(literal).collect();
    format!("{{{}}}", items.join(", "))
}

/// Runs one statement of the node's own (a SELECT, a write or a batch) on `system_auth`.
async fn run(node: &Node, cql: &str) -> CqlResult<ResultBody> {
    let statement = crate::cql::parse_statement(cql)?;
    let ctx = Context::internal(node);
    let bound = BoundValues::default();
    let write = WriteOptions {
        consistency: WRITE_CONSISTENCY,
        serial_consistency: Consistency::Serial,
        timestamp: None,
    };
    match &statement {
        Statement::Select(s) => {
            let options = SelectOptions {
                consistency: READ_CONSISTENCY,
                page_size: None,
                paging_state: None,
            };
            Ok(select::execute(&ctx, s, &bound, options).await?.body)
        }
        Statement::Insert(s) => modify::modify(&ctx, Modification::Insert(s), &bound, write).await,
        Statement::Update(s) => modify::modify(&ctx, Modification::Update(s), &bound, write).await,
        Statement::Batch(s) => modify::batch(&ctx, s, &bound, write).await,
        _ => Err(CqlError::Server(format!(
            "not an internal auth statement: {cql}"
        ))),
    }
}

/// Runs `statements` as one logged batch (nothing when there are none).
async fn run_batch(node: &Node, statements: &[String]) -> CqlResult<()> {
    if statements.is_empty() {
        return Ok(());
    }
    let batch = format!("BEGIN BATCH {}; APPLY BATCH", statements.join("; "));
    run(node, &batch).await.map(|_| ())
}

/// The rows of an internal SELECT.
async fn rows(node: &Node, cql: &str) -> CqlResult<Vec<Vec<Option<Bytes>>>> {
    match run(node, cql).await? {
        ResultBody::Rows(rows) => Ok(rows.rows),
        _ => Ok(Vec::new()),
    }
}

fn text(cell: Option<&Option<Bytes>>) -> Option<String> {
    cell.and_then(|c| c.as_ref())
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

fn boolean(cell: Option<&Option<Bytes>>) -> bool {
    cell.and_then(|c| c.as_ref())
        .is_some_and(|b| b.first().is_some_and(|v| *v != 0))
}

fn text_set(cell: Option<&Option<Bytes>>) -> CqlResult<BTreeSet<String>> {
    let Some(bytes) = cell.and_then(|c| c.as_ref()) else {
        return Ok(BTreeSet::new());
    };
    Ok(collections::elements(bytes)?
        .into_iter()
        .map(|e| String::from_utf8_lossy(&e).into_owned())
        .collect())
}

/// The columns of a role row, after `role`.
const ROLE_COLUMNS: &str = "is_superuser, can_login, member_of, salted_hash";

fn role_record(row: &[Option<Bytes>]) -> CqlResult<RoleRecord> {
    Ok(RoleRecord {
        is_superuser: boolean(row.first()),
        can_login: boolean(row.get(1)),
        member_of: text_set(row.get(2))?,
        salted_hash: text(row.get(3)),
    })
}

/// The permissions of `role_permissions` rows (`resource, permissions`), by resource.
fn granted<'r>(
    rows: impl IntoIterator<Item = &'r [Option<Bytes>]>,
) -> CqlResult<BTreeMap<String, BTreeSet<Permission>>> {
    let mut by_resource = BTreeMap::new();
    for row in rows {
        let Some(resource) = text(row.first()) else {
            continue;
        };
        let granted: BTreeSet<Permission> = text_set(row.get(1))?
            .iter()
            .filter_map(|p| Permission::from_name(p))
            .collect();
        if !granted.is_empty() {
            by_resource.insert(resource, granted);
        }
    }
    Ok(by_resource)
}

/// Reads every role and permission (the role statements and LIST need them all; a range
/// read, so it needs every `system_auth` replica range available).
pub async fn load(node: &Node) -> CqlResult<AuthState> {
    let mut state = AuthState::default();
    let roles = rows(
        node,
        &format!("SELECT role, {ROLE_COLUMNS} FROM system_auth.roles"),
    )
    .await?;
    for row in roles {
        let Some(name) = text(row.first()) else {
            continue;
        };
        state
            .roles
            .insert(name, role_record(row.get(1..).unwrap_or_default())?);
    }
    let permissions = rows(
        node,
        "SELECT role, resource, permissions FROM system_auth.role_permissions",
    )
    .await?;
    for row in permissions {
        let Some(role) = text(row.first()) else {
            continue;
        };
        for (resource, granted) in granted([row.get(1..).unwrap_or_default()])? {
            state
                .permissions
                .entry(role.clone())
                .or_default()
                .insert(resource, granted);
        }
    }
    Ok(state)
}

/// The cached entry of `key` while fresh, else `read` afresh and kept (what does not exist
/// is not kept, so that a role created through another node is found as soon as it is
/// there); when that read fails, the entry still valid is served, as Cassandra's caches
/// serve the old value while they refresh. With the moment the value was read.
async fn cached<T: Clone, F: Future<Output = CqlResult<Option<T>>>>(
    cache: &TimedCache<T>,
    key: &str,
    read: impl FnOnce() -> F,
) -> CqlResult<Option<(T, Instant)>> {
    if let Some(entry) = cache.fresh(key) {
        return Ok(Some(entry));
    }
    let started = Instant::now();
    match read().await {
        Ok(value) => {
            if let Some(value) = &value {
                cache.store(key, value.clone(), started);
            }
            Ok(value.map(|value| (value, started)))
        }
        Err(e) => cache.valid(key).map(Some).ok_or(e),
    }
}

/// The rows of `table` in `role`'s partition (`columns` of them).
async fn partition(
    node: &Node,
    table: &str,
    columns: &str,
    role: &str,
) -> CqlResult<Vec<Vec<Option<Bytes>>>> {
    let cql = format!(
        "SELECT {columns} FROM system_auth.{table} WHERE role = {}",
        literal(role)
    );
    rows(node, &cql).await
}

/// One role's row, read by its partition key (`CassandraRoleManager.getRole`), with the
/// moment it was read.
async fn role_read_at(node: &Node, name: &str) -> CqlResult<Option<(RoleRecord, Instant)>> {
    cached(&node.auth().roles, name, || async {
        let found = partition(node, "roles", ROLE_COLUMNS, name).await?;
        found.first().map(|row| role_record(row)).transpose()
    })
    .await
}

/// One role's row, read by its partition key (`CassandraRoleManager.getRole`).
pub async fn role(node: &Node, name: &str) -> CqlResult<Option<RoleRecord>> {
    Ok(role_read_at(node, name).await?.map(|(record, _)| record))
}

/// A role's salted hash, read by its partition key (`PasswordAuthenticator`'s
/// credentials cache).
pub async fn credentials(node: &Node, name: &str) -> CqlResult<Option<String>> {
    let found = cached(&node.auth().credentials, name, || async {
        let found = partition(node, "roles", "salted_hash", name).await?;
        Ok(found.first().and_then(|row| text(row.first())))
    })
    .await?;
    Ok(found.map(|(hash, _)| hash))
}

/// The permissions granted directly to `name` (maybe none), read by its partition key,
/// with the moment they were read.
async fn permissions_of(
    node: &Node,
    name: &str,
) -> CqlResult<Option<(BTreeMap<String, BTreeSet<Permission>>, Instant)>> {
    cached(&node.auth().permissions, name, || async {
        let found = partition(node, "role_permissions", "resource, permissions", name).await?;
        granted(found.iter().map(Vec::as_slice)).map(Some)
    })
    .await
}

/// `user`'s role and every role granted to it, directly or not, each read by its key,
/// with their permissions (superusers need none): what checking `user`'s statements needs,
/// and nothing of the other roles (Cassandra's `Roles.getRoleDetails` and
/// `CassandraAuthorizer.authorize`). A role stored on replicas that do not answer fails
/// only the logins that need it. Kept per user until the first role or permission entry
/// it was assembled from stops being fresh in its cache, so a statement whose entries are
/// all cached copies nothing and a change is seen exactly when it was before.
pub async fn subject(node: &Node, user: &str) -> CqlResult<Arc<Subject>> {
    let auth = node.auth();
    if let Some(subject) = auth.subjects.fresh(user) {
        return Ok(subject);
    }
    let generation = auth.subjects.generation();
    let mut fresh_until: Option<Instant> = None;
    let mut expire_at = |at: Instant| {
        fresh_until = Some(fresh_until.map_or(at, |until| until.min(at)));
    };
    // A role that does not exist is not cached (see `cached`): neither is a subject
    // naming one, so that it is found as soon as it is created.
    let mut missing = false;
    let mut state = AuthState::default();
    let mut pending = vec![user.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        match role_read_at(node, &name).await? {
            Some((record, read)) => {
                expire_at(auth.roles.fresh_until(read));
                pending.extend(record.member_of.iter().cloned());
                state.roles.insert(name, record);
            }
            None => missing = true,
        }
    }
    if !state.is_superuser(user) {
        for name in state.roles.keys() {
            let Some((granted, read)) = permissions_of(node, name).await? else {
                continue;
            };
            expire_at(auth.permissions.fresh_until(read));
            if !granted.is_empty() {
                state.permissions.insert(name.clone(), granted);
            }
        }
    }
    let subject = Arc::new(Subject::new(user, &state));
    if let (false, Some(until)) = (missing, fresh_until) {
        auth.subjects
            .store(user, subject.clone(), until, generation);
    }
    Ok(subject)
}

/// How long a node waits before trying the default superuser's setup again when the
/// `system_auth` replicas it needs were not reachable.
const SETUP_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// With an authenticator or authorizer configured (else it does nothing): creates the
/// `system_auth` tables missing from the schema, then the default superuser when no role
/// exists (Cassandra's `CassandraRoleManager.setup`), written at timestamp 0 so that any
/// later change of it wins and nodes creating it concurrently agree. Run once the node is
/// open, before it serves clients. In a cluster the roles live on other nodes too, which a
/// starting node may not see alive yet: then the superuser step is retried in the
/// background until it succeeds, as Cassandra reschedules its setup task.
pub async fn setup(node: &Arc<Node>) -> CqlResult<()> {
    let config = node.config();
    if !(config.password_authenticator || config.cassandra_authorizer) {
        return Ok(());
    }
    {
        let _guard = node.schema().ddl_lock.lock().await;
        let catalog = node.catalog();
        let existing = catalog.keyspace("system_auth").map(|ks| &ks.tables);
        let mut writes = Vec::new();
        for mut def in auth_tables() {
            if existing.is_some_and(|tables| tables.contains_key(&def.name)) {
                continue;
            }
            def.data_version = node.engine().clone_version(ROOT_VERSION)?;
            writes.push(SchemaWrite::PutTable(def));
        }
        if !writes.is_empty() {
            node.schema().apply(writes)?;
            tracing::info!("Created the system_auth tables");
        }
    }
    match setup_default_role(node).await {
        Err(e) if node.coordinator().ring().len() > 1 => {
            tracing::warn!("Default superuser setup postponed ({e}); retrying in the background");
            let node = node.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(SETUP_RETRY).await;
                    if setup_default_role(&node).await.is_ok() {
                        return;
                    }
                }
            });
            Ok(())
        }
        other => other,
    }
}

/// Whether some role exists: the default superuser's partition first, a range read of one
/// row only when it is missing (`CassandraRoleManager.hasExistingRoles`).
async fn has_existing_roles(node: &Node) -> CqlResult<bool> {
    if role(node, DEFAULT_SUPERUSER).await?.is_some() {
        return Ok(true);
    }
    Ok(!rows(node, "SELECT role FROM system_auth.roles LIMIT 1")
        .await?
        .is_empty())
}

/// Creates the default superuser unless some role exists.
async fn setup_default_role(node: &Node) -> CqlResult<()> {
    if has_existing_roles(node).await? {
        return Ok(());
    }
    let hash = hash(crate::auth::DEFAULT_SUPERUSER_PASSWORD.to_string()).await?;
    run(
        node,
        &format!(
            "INSERT INTO system_auth.roles (role, is_superuser, can_login, salted_hash) \
             VALUES ({}, true, true, {}) USING TIMESTAMP 0",
            literal(DEFAULT_SUPERUSER),
            literal(&hash)
        ),
    )
    .await?;
    node.auth().invalidate();
    tracing::info!("Created default superuser role '{DEFAULT_SUPERUSER}'");
    Ok(())
}

/// Hashes a password off the async threads (bcrypt at cost 10 takes tens of ms).
pub async fn hash(password: String) -> CqlResult<String> {
    let hashed = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .map_err(|e| CqlError::Server(format!("password hashing failed: {e}")))?;
    Ok(hashed?)
}

/// Inserts or updates a role's own columns (`None`: left as they are).
pub async fn put_role(
    node: &Node,
    name: &str,
    superuser: Option<bool>,
    login: Option<bool>,
    salted_hash: Option<&str>,
) -> CqlResult<()> {
    let mut assignments = Vec::new();
    if let Some(superuser) = superuser {
        assignments.push(format!("is_superuser = {superuser}"));
    }
    if let Some(login) = login {
        assignments.push(format!("can_login = {login}"));
    }
    if let Some(hash) = salted_hash {
        assignments.push(format!("salted_hash = {}", literal(hash)));
    }
    if assignments.is_empty() {
        return Ok(());
    }
    run(
        node,
        &format!(
            "UPDATE system_auth.roles SET {} WHERE role = {}",
            assignments.join(", "),
            literal(name)
        ),
    )
    .await
    .map(|_| ())
}

/// Creates a role (the row exists even with no column set, as Cassandra's INSERT).
pub async fn create_role(
    node: &Node,
    name: &str,
    superuser: bool,
    login: bool,
    salted_hash: Option<&str>,
) -> CqlResult<()> {
    let hash = salted_hash.map_or("null".to_string(), literal);
    run(
        node,
        &format!(
            "INSERT INTO system_auth.roles (role, is_superuser, can_login, salted_hash) \
             VALUES ({}, {superuser}, {login}, {hash})",
            literal(name)
        ),
    )
    .await
    .map(|_| ())
}

/// Makes `grantee` a member of `role`.
pub async fn grant_role(node: &Node, role: &str, grantee: &str) -> CqlResult<()> {
    run_batch(
        node,
        &[
            format!(
                "UPDATE system_auth.roles SET member_of = member_of + {} WHERE role = {}",
                set_literal([role]),
                literal(grantee)
            ),
            format!(
                "INSERT INTO system_auth.role_members (role, member) VALUES ({}, {})",
                literal(role),
                literal(grantee)
            ),
        ],
    )
    .await
}

fn revoke_role_statements(role: &str, grantee: &str) -> [String; 2] {
    [
        format!(
            "UPDATE system_auth.roles SET member_of = member_of - {} WHERE role = {}",
            set_literal([role]),
            literal(grantee)
        ),
        format!(
            "DELETE FROM system_auth.role_members WHERE role = {} AND member = {}",
            literal(role),
            literal(grantee)
        ),
    ]
}

/// Ends `grantee`'s membership of `role`.
pub async fn revoke_role(node: &Node, role: &str, grantee: &str) -> CqlResult<()> {
    run_batch(node, &revoke_role_statements(role, grantee)).await
}

/// Adds `permissions` on `resource` to `role`.
pub async fn grant_permissions(
    node: &Node,
    role: &str,
    resource: &AuthResource,
    permissions: &[Permission],
) -> CqlResult<()> {
    let name = resource.name();
    run_batch(
        node,
        &[
            format!(
                "UPDATE system_auth.role_permissions SET permissions = permissions + {} \
                 WHERE role = {} AND resource = {}",
                set_literal(permissions.iter().map(|p| p.name())),
                literal(role),
                literal(&name)
            ),
            format!(
                "INSERT INTO system_auth.resource_role_permissons_index (resource, role) \
                 VALUES ({}, {})",
                literal(&name),
                literal(role)
            ),
        ],
    )
    .await
}

/// Removes `permissions` on `resource` from `role`; the index entry goes with the last.
pub async fn revoke_permissions(
    node: &Node,
    state: &AuthState,
    role: &str,
    resource: &AuthResource,
    permissions: &[Permission],
) -> CqlResult<()> {
    let name = resource.name();
    let held = state
        .permissions
        .get(role)
        .and_then(|by| by.get(&name))
        .cloned()
        .unwrap_or_default();
    let mut statements = vec![format!(
        "UPDATE system_auth.role_permissions SET permissions = permissions - {} \
         WHERE role = {} AND resource = {}",
        set_literal(permissions.iter().map(|p| p.name())),
        literal(role),
        literal(&name)
    )];
    if held.iter().all(|p| permissions.contains(p)) {
        statements.push(index_delete(&name, role));
    }
    run_batch(node, &statements).await
}

fn index_delete(resource: &str, role: &str) -> String {
    format!(
        "DELETE FROM system_auth.resource_role_permissons_index WHERE resource = {} AND role = {}",
        literal(resource),
        literal(role)
    )
}

/// The statements revoking every permission granted on the resources `matches` selects
/// (by persisted name), from every role.
fn revoke_on_statements(state: &AuthState, matches: impl Fn(&str) -> bool) -> Vec<String> {
    let mut statements = Vec::new();
    for (role, by_resource) in &state.permissions {
        for resource in by_resource.keys().filter(|r| matches(r)) {
            statements.push(format!(
                "DELETE FROM system_auth.role_permissions WHERE role = {} AND resource = {}",
                literal(role),
                literal(resource)
            ));
            statements.push(index_delete(resource, role));
        }
    }
    statements
}

/// Revokes every permission on a dropped keyspace (its tables and functions included) or
/// table, as Cassandra's `AuthSchemaChangeListener` does.
pub async fn revoke_all_on(node: &Node, resource: &AuthResource) -> CqlResult<()> {
    let state = load(node).await?;
    let statements = match resource {
        AuthResource::Keyspace(ks) => {
            let (data, functions) = (format!("data/{ks}"), format!("functions/{ks}"));
            revoke_on_statements(&state, |name| {
                name == data
                    || name == functions
                    || name.starts_with(&format!("{data}/"))
                    || name.starts_with(&format!("{functions}/"))
            })
        }
        other => {
            let name = other.name();
            revoke_on_statements(&state, |r| r == name)
        }
    };
    run_batch(node, &statements).await?;
    node.auth().invalidate();
    Ok(())
}

/// Drops a role: its row, its memberships both ways, its permissions and the permissions
/// others hold on it (`CassandraRoleManager.dropRole`, `CassandraAuthorizer.revokeAllFrom`
/// and `revokeAllOn`).
pub async fn drop_role(node: &Node, state: &AuthState, name: &str) -> CqlResult<()> {
    let mut statements = vec![
        format!(
            "DELETE FROM system_auth.roles WHERE role = {}",
            literal(name)
        ),
        format!(
            "DELETE FROM system_auth.role_members WHERE role = {}",
            literal(name)
        ),
        format!(
            "DELETE FROM system_auth.role_permissions WHERE role = {}",
            literal(name)
        ),
        format!(
            "DELETE FROM system_auth.network_permissions WHERE role = {}",
            literal(name)
        ),
    ];
    let members = state
        .roles
        .iter()
        .filter(|(_, record)| record.member_of.contains(name));
    for (member, _) in members {
        statements.extend(revoke_role_statements(name, member));
    }
    if let Some(record) = state.roles.get(name) {
        for role in &record.member_of {
            statements.push(format!(
                "DELETE FROM system_auth.role_members WHERE role = {} AND member = {}",
                literal(role),
                literal(name)
            ));
        }
    }
    let granted: BTreeMap<String, BTreeSet<Permission>> =
        state.permissions.get(name).cloned().unwrap_or_default();
    for resource in granted.keys() {
        statements.push(index_delete(resource, name));
    }
    let on_role = AuthResource::Role(name.to_string()).name();
    statements.extend(revoke_on_statements(state, |r| r == on_role));
    run_batch(node, &statements).await
}
