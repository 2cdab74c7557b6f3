//! Roles and permissions as Cassandra 5.0 runs them: logins (`PasswordAuthenticator`),
//! the role statements (`CassandraRoleManager`), GRANT/REVOKE/LIST of permissions
//! (`CassandraAuthorizer`) and the permission every other statement needs
//! (`CQLStatement.authorize`), with Cassandra's checks, their order and messages.
//!
//! `store` reads and writes the `system_auth` tables; `crate::auth` holds the model.
//!
//! Invariants:
//! - A session without a user (no authenticator) is never checked here: `authorize`
//!   returns at once, and role statements answer "You have not logged in" as Cassandra's
//!   anonymous user gets.
//! - Every change runs under `AuthCache::changes` on a freshly loaded state and drops the
//!   cache, so checks made after it see it.

pub mod store;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use bytes::Bytes;
use strata_protocol::{ColType, ColumnSpec};

use crate::auth::{
    bad_credentials, check_password, no_permission, AuthResource, AuthState, ROLE_MANAGER,
};
use crate::cql::ast::{
    AlterRole, BatchChild, CreateRole, DropRole, ListPermissions, ListRoles, Permission,
    PermissionChange, QualifiedName, Resource, RoleGrant, RoleOptions, Statement,
};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::{Context, Outcome};
use crate::exec::read::describe::rows_result;
use crate::node::Node;

/// Keyspaces whose tables anyone logged in may read (Cassandra's
/// `READABLE_SYSTEM_RESOURCES` and the virtual keyspaces): drivers read them to connect.
const READABLE_KEYSPACES: &[&str] = &[
    "system",
    "system_schema",
    "system_virtual_schema",
    "system_views",
];

/// Checks a SASL PLAIN token against the role's row of `system_auth.roles`, read by its
/// key (no other role is read); the role name on success. A read that fails (the role's
/// replicas down) refuses the login with Cassandra's words.
pub async fn login(node: &Node, token: &[u8]) -> CqlResult<String> {
    let (user, password) = crate::auth::decode_plain(token)?;
    let hash = store::credentials(node, &user)
        .await
        .map_err(|e| CqlError::BadCredentials(format!("Unable to perform authentication: {e}")))?;
    let Some(hash) = hash else {
        return Err(bad_credentials(&user).into());
    };
    let matches = tokio::task::spawn_blocking(move || check_password(&password, &hash))
        .await
        .map_err(|e| CqlError::Server(format!("password check failed: {e}")))?;
    if !matches {
        return Err(bad_credentials(&user).into());
    }
    let record = store::role(node, &user).await.map_err(|e| {
        CqlError::Unauthorized(format!(
            "Unable to perform authorization of login permission: {e}"
        ))
    })?;
    if !record.is_some_and(|r| r.can_login) {
        return Err(CqlError::BadCredentials(format!(
            "{user} is not permitted to log in"
        )));
    }
    Ok(user)
}

/// Whether `user` is a role with superuser status (the admin endpoint's check).
pub async fn is_superuser_login(node: &Node, user: &str, password: &str) -> bool {
    let mut token = vec![0];
    token.extend_from_slice(user.as_bytes());
    token.push(0);
    token.extend_from_slice(password.as_bytes());
    match login(node, &token).await {
        Ok(user) => store::subject(node, &user)
            .await
            .is_ok_and(|subject| subject.superuser),
        Err(_) => false,
    }
}

fn logged_in<'a>(ctx: &Context<'a>) -> CqlResult<&'a str> {
    ctx.user
        .ok_or_else(|| CqlError::Unauthorized("You have not logged in".into()))
}

/// How every change starts: the logged-in user, the change lock (held until the change is
/// written) and the state loaded afresh under it.
async fn begin_change<'a>(
    ctx: &Context<'a>,
) -> CqlResult<(&'a str, tokio::sync::MutexGuard<'a, ()>, AuthState)> {
    let user = logged_in(ctx)?;
    let node: &'a Node = ctx.node;
    let changes = node.auth().changes.lock().await;
    let state = store::load(node).await?;
    Ok((user, changes, state))
}

fn authorizer_on(ctx: &Context<'_>) -> bool {
    ctx.node.config().cassandra_authorizer
}

/// `ensurePermission`: the user holds `permission` on `resource` or a parent (always true
/// without CassandraAuthorizer, whose stand-in AllowAllAuthorizer grants everything).
fn ensure(
    ctx: &Context<'_>,
    state: &AuthState,
    user: &str,
    permission: Permission,
    resource: &AuthResource,
) -> CqlResult<()> {
    if !authorizer_on(ctx) || state.has_permission(user, permission, resource) {
        return Ok(());
    }
    Err(no_permission(user, permission, resource).into())
}

/// The permissions a statement needs, checked before it runs (prepared statements at
/// EXECUTE, batch members one by one). Superusers hold them all.
pub async fn authorize(ctx: &Context<'_>, statement: &Statement) -> CqlResult<()> {
    let Some(user) = ctx.user else {
        return Ok(());
    };
    if ctx.internal || !authorizer_on(ctx) {
        return Ok(());
    }
    let required = required_permissions(ctx, statement);
    if required.is_empty() {
        return Ok(());
    }
    let subject = store::subject(ctx.node, user).await?;
    if subject.superuser {
        return Ok(());
    }
    for (permission, resource) in required {
        if !subject.has_permission(permission, &resource) {
            return Err(no_permission(user, permission, &resource).into());
        }
    }
    Ok(())
}

/// What `statement` needs, as each Cassandra statement's `authorize`. Names that do not
/// resolve (no keyspace given or in use) need nothing here: the statement fails on them
/// with its own message.
fn required_permissions(
    ctx: &Context<'_>,
    statement: &Statement,
) -> Vec<(Permission, AuthResource)> {
    use Permission::*;
    let table = |name: &QualifiedName| {
        ctx.keyspace_of(name)
            .ok()
            .map(|ks| AuthResource::Table(ks, name.name.clone()))
    };
    let keyspace_of = |name: &QualifiedName| ctx.keyspace_of(name).ok().map(AuthResource::Keyspace);
    let keyspace = |name: &str| Some(AuthResource::Keyspace(name.to_string()));
    let functions_in =
        |name: &QualifiedName| ctx.keyspace_of(name).ok().map(AuthResource::FunctionsIn);
    let needs: Vec<(Permission, Option<AuthResource>)> = match statement {
        Statement::Select(s) => {
            let readable = ctx
                .keyspace_of(&s.table)
                .is_ok_and(|ks| READABLE_KEYSPACES.contains(&ks.as_str()));
            if readable {
                Vec::new()
            } else {
                vec![(Select, table(&s.table))]
            }
        }
        Statement::Insert(s) => write_needs(&s.table, s.if_not_exists, &table),
        Statement::Update(s) => write_needs(&s.table, s.condition.is_some(), &table),
        Statement::Delete(s) => write_needs(&s.table, s.condition.is_some(), &table),
        Statement::Batch(b) => b
            .statements
            .iter()
            .flat_map(|child| match child {
                BatchChild::Insert(s) => write_needs(&s.table, s.if_not_exists, &table),
                BatchChild::Update(s) => write_needs(&s.table, s.condition.is_some(), &table),
                BatchChild::Delete(s) => write_needs(&s.table, s.condition.is_some(), &table),
            })
            .collect(),
        Statement::Truncate(name) => vec![(Modify, table(name))],
        Statement::CreateKeyspace(_) => vec![(Create, Some(AuthResource::AllKeyspaces))],
        Statement::AlterKeyspace(s) => vec![(Alter, keyspace(&s.name))],
        Statement::DropKeyspace(s) => vec![(Drop, keyspace(&s.name))],
        Statement::CreateTable(s) => vec![(Create, keyspace_of(&s.name))],
        Statement::AlterTable(s) => vec![(Alter, table(&s.name))],
        Statement::DropTable(s) => vec![(Drop, table(&s.name))],
        Statement::CreateIndex(s) => vec![(Alter, table(&s.table))],
        Statement::DropIndex(s) => vec![(Alter, index_base(ctx, &s.name))],
        Statement::CreateType(s) => vec![(Create, keyspace_of(&s.name))],
        Statement::AlterType(s) => vec![(Alter, keyspace_of(&s.name))],
        Statement::DropType(s) => vec![(Drop, keyspace_of(&s.name))],
        Statement::CreateView(s) => vec![(Alter, table(&s.base_table))],
        Statement::AlterView(s) => vec![(Alter, view_base(ctx, &s.name))],
        Statement::DropView(s) => vec![(Alter, view_base(ctx, &s.name))],
        Statement::CreateFunction(s) => vec![(Create, functions_in(&s.name))],
        Statement::CreateAggregate(s) => vec![(Create, functions_in(&s.name))],
        Statement::DropFunction(s) | Statement::DropAggregate(s) => {
            vec![(Drop, functions_in(&s.name))]
        }
        // Strata's extensions: a clone reads its source and creates in the target, as
        // SELECT plus CREATE TABLE (or CREATE KEYSPACE) would; a restore replaces the
        // contents like TRUNCATE followed by writes, so it needs MODIFY.
        Statement::CloneTable(s) => {
            vec![(Select, table(&s.source)), (Create, keyspace_of(&s.name))]
        }
        Statement::CloneKeyspace(s) => vec![
            (Select, keyspace(&s.source)),
            (Create, Some(AuthResource::AllKeyspaces)),
        ],
        Statement::RestoreTable(s) => vec![(Modify, table(&s.table))],
        Statement::RestoreKeyspace(s) => vec![(Modify, keyspace(&s.keyspace))],
        // USE and DESCRIBE need a login only; the role and permission statements
        // (`is_access_control`) check their own rules when they run.
        _ => Vec::new(),
    };
    needs
        .into_iter()
        .filter_map(|(permission, resource)| resource.map(|r| (permission, r)))
        .collect()
}

/// MODIFY on the table, plus SELECT for a conditional write (it reads).
fn write_needs(
    name: &QualifiedName,
    conditional: bool,
    table: &dyn Fn(&QualifiedName) -> Option<AuthResource>,
) -> Vec<(Permission, Option<AuthResource>)> {
    let mut needs = vec![(Permission::Modify, table(name))];
    if conditional {
        needs.push((Permission::Select, table(name)));
    }
    needs
}

/// The table an index belongs to (DROP INDEX needs ALTER on it).
fn index_base(ctx: &Context<'_>, index: &QualifiedName) -> Option<AuthResource> {
    let keyspace = ctx.keyspace_of(index).ok()?;
    let ks = ctx.catalog.keyspace(&keyspace)?;
    ks.tables
        .values()
        .find(|t| t.indexes.iter().any(|i| i.name == index.name))
        .map(|t| AuthResource::Table(keyspace.clone(), t.def.name.clone()))
}

/// The base table of a materialized view (ALTER/DROP MATERIALIZED VIEW need ALTER on it).
fn view_base(ctx: &Context<'_>, view: &QualifiedName) -> Option<AuthResource> {
    let keyspace = ctx.keyspace_of(view).ok()?;
    let table = ctx.catalog.keyspace(&keyspace)?.tables.get(&view.name)?;
    let base = &table.view.as_ref()?.base_table;
    Some(AuthResource::Table(keyspace, base.clone()))
}

/// After a CREATE KEYSPACE / TABLE (or a clone) by a logged-in user: ALL applicable
/// permissions on what was created go to the creator (Cassandra's
/// `grantPermissionsToCreator`); after a DROP, the permissions on what was dropped go.
pub async fn after_schema_change(ctx: &Context<'_>, statement: &Statement) -> CqlResult<()> {
    if ctx.internal || !authorizer_on(ctx) {
        return Ok(());
    }
    let table = |name: &QualifiedName| {
        ctx.keyspace_of(name)
            .map(|ks| AuthResource::Table(ks, name.name.clone()))
    };
    let created = match statement {
        Statement::CreateKeyspace(s) => vec![
            AuthResource::Keyspace(s.name.clone()),
            AuthResource::FunctionsIn(s.name.clone()),
        ],
        Statement::CloneKeyspace(s) => vec![
            AuthResource::Keyspace(s.name.clone()),
            AuthResource::FunctionsIn(s.name.clone()),
        ],
        Statement::CreateTable(s) => vec![table(&s.name)?],
        Statement::CloneTable(s) => vec![table(&s.name)?],
        Statement::DropKeyspace(s) => {
            return store::revoke_all_on(ctx.node, &AuthResource::Keyspace(s.name.clone())).await
        }
        Statement::DropTable(s) => return store::revoke_all_on(ctx.node, &table(&s.name)?).await,
        _ => return Ok(()),
    };
    let Some(user) = ctx.user else {
        return Ok(());
    };
    let _changes = ctx.node.auth().changes.lock().await;
    for resource in created {
        store::grant_permissions(ctx.node, user, &resource, resource.applicable_permissions())
            .await?;
    }
    ctx.node.auth().invalidate();
    Ok(())
}

/// Runs a role or permission statement.
pub async fn execute(ctx: &Context<'_>, statement: &Statement) -> CqlResult<Outcome> {
    match statement {
        Statement::CreateRole(s) => create_role(ctx, s).await,
        Statement::AlterRole(s) => alter_role(ctx, s).await,
        Statement::DropRole(s) => drop_role(ctx, s).await,
        Statement::GrantRole(s) => grant_role(ctx, s).await,
        Statement::RevokeRole(s) => revoke_role(ctx, s).await,
        Statement::GrantPermissions(s) => change_permissions(ctx, s, true).await,
        Statement::RevokePermissions(s) => change_permissions(ctx, s, false).await,
        Statement::ListRoles(s) => list_roles(ctx, s, false).await,
        Statement::ListUsers => {
            let all = ListRoles {
                of: None,
                recursive: true,
            };
            list_roles(ctx, &all, true).await
        }
        Statement::ListPermissions(s) => list_permissions(ctx, s).await,
        _ => Err(CqlError::Server(format!(
            "not a role or permission statement: {statement}"
        ))),
    }
}

/// `RoleOptions.validate` for CassandraRoleManager (LOGIN, SUPERUSER, PASSWORD, HASHED
/// PASSWORD; no custom OPTIONS), then the password to store, hashed.
async fn role_hash(options: &RoleOptions) -> CqlResult<Option<String>> {
    if options.options.is_some() {
        return Err(CqlError::invalid(format!(
            "{ROLE_MANAGER} doesn't support OPTIONS"
        )));
    }
    match (&options.password, &options.hashed_password) {
        (Some(_), Some(_)) => Err(CqlError::invalid(
            "Options 'password' and 'hashed password' are mutually exclusive",
        )),
        (Some(password), None) => Ok(Some(store::hash(password.clone()).await?)),
        (None, Some(hashed)) if crate::auth::is_bcrypt_hash(hashed) => Ok(Some(hashed.clone())),
        (None, Some(_)) => Err(CqlError::invalid(
            "Invalid hashed password value. Please use jBcrypt.",
        )),
        (None, None) => Ok(None),
    }
}

async fn create_role(ctx: &Context<'_>, s: &CreateRole) -> CqlResult<Outcome> {
    if s.name.is_empty() {
        return Err(CqlError::invalid("Role name can't be an empty string"));
    }
    let (user, _changes, state) = begin_change(ctx).await?;
    ensure(
        ctx,
        &state,
        user,
        Permission::Create,
        &AuthResource::AllRoles,
    )?;
    if s.options.superuser == Some(true) && !state.is_superuser(user) {
        return Err(CqlError::Unauthorized(
            "Only superusers can create a role with superuser status".into(),
        ));
    }
    if state.roles.contains_key(&s.name) {
        if s.if_not_exists {
            return Ok(Outcome::void());
        }
        return Err(CqlError::invalid(format!("{} already exists", s.name)));
    }
    let hash = role_hash(&s.options).await?;
    // CREATE USER implies LOGIN; a role has neither LOGIN nor SUPERUSER unless given.
    let login = s.options.login.unwrap_or(s.user);
    let superuser = s.options.superuser.unwrap_or(false);
    store::create_role(ctx.node, &s.name, superuser, login, hash.as_deref()).await?;
    if authorizer_on(ctx) {
        let resource = AuthResource::Role(s.name.clone());
        store::grant_permissions(ctx.node, user, &resource, resource.applicable_permissions())
            .await?;
    }
    ctx.node.auth().invalidate();
    Ok(Outcome::void())
}

async fn alter_role(ctx: &Context<'_>, s: &AlterRole) -> CqlResult<Outcome> {
    let (user, _changes, state) = begin_change(ctx).await?;
    let is_super = state.is_superuser(user);
    if s.options.superuser.is_some() {
        if state.roles_of(user, true).contains(&s.name) {
            return Err(CqlError::Unauthorized(
                "You aren't allowed to alter your own superuser status or that of a role granted to you"
                    .into(),
            ));
        }
        if !is_super {
            return Err(CqlError::Unauthorized(
                "Only superusers are allowed to alter superuser status".into(),
            ));
        }
    }
    if !is_super {
        if user == s.name {
            // A role may change its own password only (`alterableOptions`).
            if s.options.login.is_some() {
                return Err(CqlError::Unauthorized(
                    "You aren't allowed to alter LOGIN".into(),
                ));
            }
            if s.options.options.is_some() {
                return Err(CqlError::Unauthorized(
                    "You aren't allowed to alter OPTIONS".into(),
                ));
            }
        } else {
            ensure(
                ctx,
                &state,
                user,
                Permission::Alter,
                &AuthResource::Role(s.name.clone()),
            )?;
        }
    }
    // Validation follows the access check, as Cassandra authorizes before validating.
    if s.options.is_empty() {
        return Err(CqlError::invalid("ALTER [ROLE|USER] can't be empty"));
    }
    if !state.roles.contains_key(&s.name) {
        if s.if_exists {
            return Ok(Outcome::void());
        }
        return Err(CqlError::invalid(format!("{} doesn't exist", s.name)));
    }
    let hash = role_hash(&s.options).await?;
    store::put_role(
        ctx.node,
        &s.name,
        s.options.superuser,
        s.options.login,
        hash.as_deref(),
    )
    .await?;
    ctx.node.auth().invalidate();
    Ok(Outcome::void())
}

async fn drop_role(ctx: &Context<'_>, s: &DropRole) -> CqlResult<Outcome> {
    let (user, _changes, state) = begin_change(ctx).await?;
    ensure(
        ctx,
        &state,
        user,
        Permission::Drop,
        &AuthResource::Role(s.name.clone()),
    )?;
    let exists = state.roles.contains_key(&s.name);
    if exists && state.is_superuser(&s.name) && !state.is_superuser(user) {
        return Err(CqlError::Unauthorized(
            "Only superusers can drop a role with superuser status".into(),
        ));
    }
    if !exists {
        if s.if_exists {
            return Ok(Outcome::void());
        }
        return Err(CqlError::invalid(format!("{} doesn't exist", s.name)));
    }
    if user == s.name {
        return Err(CqlError::invalid(
            "Cannot DROP primary role for current login",
        ));
    }
    store::drop_role(ctx.node, &state, &s.name).await?;
    ctx.node.auth().invalidate();
    Ok(Outcome::void())
}

/// `RoleManagementStatement`: AUTHORIZE on the role granted, both roles existing.
async fn role_grant_checks<'a>(
    ctx: &Context<'a>,
    s: &RoleGrant,
) -> CqlResult<(tokio::sync::MutexGuard<'a, ()>, AuthState)> {
    let (user, changes, state) = begin_change(ctx).await?;
    ensure(
        ctx,
        &state,
        user,
        Permission::Authorize,
        &AuthResource::Role(s.role.clone()),
    )?;
    for name in [&s.role, &s.grantee] {
        if !state.roles.contains_key(name) {
            return Err(CqlError::invalid(format!("{name} doesn't exist")));
        }
    }
    Ok((changes, state))
}

async fn grant_role(ctx: &Context<'_>, s: &RoleGrant) -> CqlResult<Outcome> {
    let (_changes, state) = role_grant_checks(ctx, s).await?;
    // Either way round, the grant would make a role a member of itself.
    for (member, of) in [(&s.grantee, &s.role), (&s.role, &s.grantee)] {
        if state.roles_of(member, true).contains(of) {
            return Err(CqlError::invalid(format!("{member} is a member of {of}")));
        }
    }
    store::grant_role(ctx.node, &s.role, &s.grantee).await?;
    ctx.node.auth().invalidate();
    Ok(Outcome::void())
}

async fn revoke_role(ctx: &Context<'_>, s: &RoleGrant) -> CqlResult<Outcome> {
    let (_changes, state) = role_grant_checks(ctx, s).await?;
    let direct = state
        .role(&s.grantee)
        .is_some_and(|r| r.member_of.contains(&s.role));
    if !direct {
        return Err(CqlError::invalid(format!(
            "{} is not a member of {}",
            s.grantee, s.role
        )));
    }
    store::revoke_role(ctx.node, &s.role, &s.grantee).await?;
    ctx.node.auth().invalidate();
    Ok(Outcome::void())
}

/// A statement's resource with its keyspace resolved (`maybeCorrectResource`).
fn resolve(ctx: &Context<'_>, resource: &Resource) -> CqlResult<AuthResource> {
    Ok(match resource {
        Resource::AllKeyspaces => AuthResource::AllKeyspaces,
        Resource::Keyspace(ks) => AuthResource::Keyspace(ks.clone()),
        Resource::Table(name) => AuthResource::Table(ctx.keyspace_of(name)?, name.name.clone()),
        Resource::AllRoles => AuthResource::AllRoles,
        Resource::Role(role) => AuthResource::Role(role.clone()),
        Resource::AllFunctions => AuthResource::AllFunctions,
        Resource::FunctionsIn(ks) => AuthResource::FunctionsIn(ks.clone()),
        Resource::Function {
            name,
            argument_types,
        } => AuthResource::Function {
            keyspace: ctx.keyspace_of(name)?,
            name: name.name.clone(),
            arguments: argument_types.iter().map(|t| t.to_string()).collect(),
        },
    })
}

/// `IResource.exists()`. Functions never exist: user-defined functions are disabled and
/// built-in ones carry no permissions.
fn resource_exists(ctx: &Context<'_>, state: &AuthState, resource: &AuthResource) -> bool {
    match resource {
        AuthResource::AllKeyspaces | AuthResource::AllRoles | AuthResource::AllFunctions => true,
        AuthResource::Keyspace(ks) | AuthResource::FunctionsIn(ks) => {
            ctx.catalog.keyspace(ks).is_some()
        }
        AuthResource::Table(ks, t) => ctx
            .catalog
            .keyspace(ks)
            .is_some_and(|k| k.tables.contains_key(t)),
        AuthResource::Role(role) => state.roles.contains_key(role),
        AuthResource::Function { .. } => false,
    }
}

async fn change_permissions(
    ctx: &Context<'_>,
    s: &PermissionChange,
    grant: bool,
) -> CqlResult<Outcome> {
    let (user, _changes, state) = begin_change(ctx).await?;
    if !state.roles.contains_key(&s.role) {
        return Err(CqlError::invalid(format!("Role {} doesn't exist", s.role)));
    }
    let resource = resolve(ctx, &s.resource)?;
    if !resource_exists(ctx, &state, &resource) {
        return Err(CqlError::invalid(format!(
            "Resource {resource} doesn't exist"
        )));
    }
    ensure(ctx, &state, user, Permission::Authorize, &resource)?;
    for permission in &s.permissions {
        ensure(ctx, &state, user, *permission, &resource)?;
    }
    let operation = if grant { "GRANT" } else { "REVOKE" };
    if !authorizer_on(ctx) {
        return Err(CqlError::invalid(format!(
            "{operation} operation is not supported by AllowAllAuthorizer"
        )));
    }
    let held = state
        .permissions
        .get(&s.role)
        .and_then(|by| by.get(&resource.name()))
        .cloned()
        .unwrap_or_default();
    let unchanged: Vec<&str> = s
        .permissions
        .iter()
        .filter(|p| held.contains(p) == grant)
        .map(|p| p.name())
        .collect();
    if grant {
        store::grant_permissions(ctx.node, &s.role, &resource, &s.permissions).await?;
    } else {
        store::revoke_permissions(ctx.node, &state, &s.role, &resource, &s.permissions).await?;
    }
    ctx.node.auth().invalidate();
    let mut outcome = Outcome::void();
    // Cassandra warns when not everything asked for changed, unless ALL was asked for.
    if !unchanged.is_empty() && !s.all {
        let was = if grant { "was already" } else { "was not" };
        outcome.warnings.push(format!(
            "Role '{}' {was} granted {} on {resource}",
            s.role,
            unchanged.join(", ")
        ));
    }
    Ok(outcome)
}

fn column(name: &str, col_type: ColType) -> ColumnSpec {
    ColumnSpec {
        keyspace: "system_auth".into(),
        table: "roles".into(),
        name: name.into(),
        col_type,
    }
}

fn rows(columns: Vec<ColumnSpec>, rows: Vec<Vec<Option<Bytes>>>) -> Outcome {
    if rows.is_empty() {
        return Outcome::void();
    }
    Outcome::body(rows_result(columns, rows))
}

fn text(value: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(value.as_bytes()))
}

fn boolean(value: bool) -> Option<Bytes> {
    Some(Bytes::from_static(if value { &[1] } else { &[0] }))
}

/// `LIST ROLES` (`users`: `LIST USERS`, the roles that can log in, in the legacy columns).
async fn list_roles(ctx: &Context<'_>, s: &ListRoles, users: bool) -> CqlResult<Outcome> {
    let user = logged_in(ctx)?;
    let state = store::load(ctx.node).await?;
    if let Some(of) = &s.of {
        if !state.roles.contains_key(of) {
            return Err(CqlError::invalid(format!("<role {of}> doesn't exist")));
        }
    }
    // DESCRIBE on all roles lets a role list every role; others see their own.
    let describe_all = !authorizer_on(ctx)
        || state.has_permission(user, Permission::Describe, &AuthResource::AllRoles);
    let listed: BTreeSet<String> = match (&s.of, describe_all) {
        (None, true) => state.roles.keys().cloned().collect(),
        (Some(of), true) => state.roles_of(of, s.recursive),
        (None, false) => state.roles_of(user, s.recursive),
        (Some(of), false) if state.roles_of(user, true).contains(of) => {
            state.roles_of(of, s.recursive)
        }
        (Some(of), false) => {
            return Err(CqlError::Unauthorized(format!(
                "You are not authorized to view roles granted to {of} "
            )))
        }
    };
    let records = listed
        .iter()
        .filter_map(|name| state.role(name).map(|record| (name, record)));
    // An empty map<text, text>: the role manager has no custom options.
    let no_options = Some(Bytes::from_static(&[0, 0, 0, 0]));
    if users {
        let columns = vec![
            column("name", ColType::Varchar),
            column("super", ColType::Boolean),
            column("datacenters", ColType::Varchar),
        ];
        let found = records
            .filter(|(_, r)| r.can_login)
            .map(|(name, _)| vec![text(name), boolean(state.is_superuser(name)), text("ALL")])
            .collect();
        return Ok(rows(columns, found));
    }
    let columns = vec![
        column("role", ColType::Varchar),
        column("super", ColType::Boolean),
        column("login", ColType::Boolean),
        column(
            "options",
            ColType::Map(Box::new(ColType::Varchar), Box::new(ColType::Varchar)),
        ),
        column("datacenters", ColType::Varchar),
    ];
    let found = records
        .map(|(name, r)| {
            vec![
                text(name),
                boolean(r.is_superuser),
                boolean(r.can_login),
                no_options.clone(),
                text("ALL"),
            ]
        })
        .collect();
    Ok(rows(columns, found))
}

async fn list_permissions(ctx: &Context<'_>, s: &ListPermissions) -> CqlResult<Outcome> {
    let user = logged_in(ctx)?;
    let state = store::load(ctx.node).await?;
    let resource = s.resource.as_ref().map(|r| resolve(ctx, r)).transpose()?;
    if let Some(resource) = &resource {
        if !resource_exists(ctx, &state, resource) {
            return Err(CqlError::invalid(format!("{resource} doesn't exist")));
        }
    }
    if let Some(of) = &s.of {
        if !state.roles.contains_key(of) {
            return Err(CqlError::invalid(format!("<role {of}> doesn't exist")));
        }
    }
    if !authorizer_on(ctx) {
        return Err(CqlError::invalid(
            "LIST PERMISSIONS operation is not supported by AllowAllAuthorizer",
        ));
    }
    let allowed = state.is_superuser(user)
        || s.of
            .as_ref()
            .is_some_and(|of| state.roles_of(user, true).contains(of));
    if !allowed {
        let whose = s.of.as_deref().unwrap_or("everyone");
        return Err(CqlError::Unauthorized(format!(
            "You are not authorized to view {whose}'s permissions"
        )));
    }
    // The resource and, unless NORECURSIVE, its parents; every resource without one.
    let resources: Option<BTreeSet<String>> = resource.map(|r| {
        let chain = if s.recursive { r.chain() } else { vec![r] };
        chain.iter().map(AuthResource::name).collect()
    });
    let grantees: Option<BTreeSet<String>> = s.of.as_ref().map(|of| state.roles_of(of, true));
    let mut details: Vec<(String, String, Permission)> = Vec::new();
    for (role, by_resource) in &state.permissions {
        if grantees.as_ref().is_some_and(|g| !g.contains(role)) {
            continue;
        }
        for (name, granted) in by_resource {
            if resources.as_ref().is_some_and(|r| !r.contains(name)) {
                continue;
            }
            for permission in granted.iter().filter(|p| s.permissions.contains(p)) {
                details.push((role.clone(), name.clone(), *permission));
            }
        }
    }
    details.sort();
    let columns = ["role", "username", "resource", "permission"]
        .iter()
        .map(|name| ColumnSpec {
            keyspace: "system_auth".into(),
            table: "permissions".into(),
            name: name.to_string(),
            col_type: ColType::Varchar,
        })
        .collect();
    let found = details
        .into_iter()
        .map(|(role, name, permission)| {
            let shown = AuthResource::from_name(&name).map_or(name, |r| r.to_string());
            vec![
                text(&role),
                text(&role),
                text(&shown),
                text(permission.name()),
            ]
        })
        .collect();
    Ok(rows(columns, found))
}
