//! Authentication and authorization state, as Cassandra 5.0's `PasswordAuthenticator`,
//! `CassandraRoleManager` and `CassandraAuthorizer` keep it: roles with their bcrypt hashes
//! and memberships, and permissions per role and resource. The rows live in the
//! `system_auth` tables (read and written by `exec::auth`); this module holds what they
//! mean: resources and their names, role inheritance, permission lookups, password hashes,
//! SASL PLAIN and the short-lived per-role caches of what was read.
//!
//! Invariants:
//! - Nothing here runs when neither `authenticator: PasswordAuthenticator` nor
//!   `authorizer: CassandraAuthorizer` is configured: the session then has no user and no
//!   statement looks at the cache (the hot path is unchanged).
//! - A cached entry is never served older than its validity (Cassandra's `roles_validity`,
//!   `permissions_validity`, `credentials_validity`, 2 s by default; 0 disables), and every
//!   change made through this node empties the caches at once, so a GRANT is seen by the
//!   next statement here and by other nodes within the validity.
//! - Role inheritance is followed with a visited set, so a membership cycle written
//!   behind the statements' back cannot loop.

use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cql::ast::{Permission, ResourceLevel};

/// A refused login or statement, or a hashing failure; `crate::error` maps each to its CQL
/// error code (Bad credentials, Unauthorized, Server error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    BadCredentials(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("cannot hash password: {0}")]
    Hash(String),
}

/// The authenticator class sent in AUTHENTICATE (drivers pick their SASL mechanism by it).
pub const PASSWORD_AUTHENTICATOR: &str = "org.apache.cassandra.auth.PasswordAuthenticator";
/// The role manager's class name, as Cassandra's messages print it.
pub const ROLE_MANAGER: &str = "org.apache.cassandra.auth.CassandraRoleManager";
/// The superuser created on first start (`CassandraRoleManager.DEFAULT_SUPERUSER_NAME`).
pub const DEFAULT_SUPERUSER: &str = "cassandra";
pub const DEFAULT_SUPERUSER_PASSWORD: &str = "cassandra";
/// Cassandra's bcrypt cost (`GENSALT_LOG2_ROUNDS` default 10).
const BCRYPT_COST: u32 = 10;
/// How long a loaded state is trusted (Cassandra's `roles_validity`, `permissions_validity`).
pub const VALIDITY: Duration = Duration::from_secs(2);

/// A resource permissions are granted on, with its keyspace resolved (Cassandra's
/// `DataResource`, `RoleResource`, `FunctionResource`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthResource {
    AllKeyspaces,
    Keyspace(String),
    Table(String, String),
    AllRoles,
    Role(String),
    AllFunctions,
    FunctionsIn(String),
    /// A function of a keyspace: its name and argument types as CQL prints them.
    Function {
        keyspace: String,
        name: String,
        arguments: Vec<String>,
    },
}

impl AuthResource {
    /// Cassandra's persisted name (`data/ks/t`, `roles/r`, `functions/ks/f[int^text]`).
    pub fn name(&self) -> String {
        match self {
            AuthResource::AllKeyspaces => "data".into(),
            AuthResource::Keyspace(ks) => format!("data/{ks}"),
            AuthResource::Table(ks, t) => format!("data/{ks}/{t}"),
            AuthResource::AllRoles => "roles".into(),
            AuthResource::Role(r) => format!("roles/{r}"),
            AuthResource::AllFunctions => "functions".into(),
            AuthResource::FunctionsIn(ks) => format!("functions/{ks}"),
            AuthResource::Function {
                keyspace,
                name,
                arguments,
            } => format!("functions/{keyspace}/{name}[{}]", arguments.join("^")),
        }
    }

    /// The resource a persisted name denotes (`None` for names of other resource kinds).
    pub fn from_name(name: &str) -> Option<AuthResource> {
        let mut parts = name.splitn(3, '/');
        let root = parts.next()?;
        let first = parts.next().map(str::to_string);
        let second = parts.next().map(str::to_string);
        Some(match (root, first, second) {
            ("data", None, None) => AuthResource::AllKeyspaces,
            ("data", Some(ks), None) => AuthResource::Keyspace(ks),
            ("data", Some(ks), Some(t)) => AuthResource::Table(ks, t),
            ("roles", None, None) => AuthResource::AllRoles,
            ("roles", Some(r), None) => AuthResource::Role(r),
            ("functions", None, None) => AuthResource::AllFunctions,
            ("functions", Some(ks), None) => AuthResource::FunctionsIn(ks),
            ("functions", Some(keyspace), Some(function)) => {
                let (name, rest) = function.split_once('[')?;
                let arguments = rest.strip_suffix(']')?;
                AuthResource::Function {
                    keyspace,
                    name: name.to_string(),
                    arguments: arguments
                        .split('^')
                        .filter(|a| !a.is_empty())
                        .map(str::to_string)
                        .collect(),
                }
            }
            _ => return None,
        })
    }

    /// The next resource up the chain (a table's keyspace, then all keyspaces).
    pub fn parent(&self) -> Option<AuthResource> {
        match self {
            AuthResource::Table(ks, _) => Some(AuthResource::Keyspace(ks.clone())),
            AuthResource::Keyspace(_) => Some(AuthResource::AllKeyspaces),
            AuthResource::Role(_) => Some(AuthResource::AllRoles),
            AuthResource::Function { keyspace, .. } => {
                Some(AuthResource::FunctionsIn(keyspace.clone()))
            }
            AuthResource::FunctionsIn(_) => Some(AuthResource::AllFunctions),
            AuthResource::AllKeyspaces | AuthResource::AllRoles | AuthResource::AllFunctions => {
                None
            }
        }
    }

    /// The resource and its parents, most specific first (Cassandra's `Resources.chain`).
    pub fn chain(&self) -> Vec<AuthResource> {
        let mut chain = vec![self.clone()];
        while let Some(parent) = chain.last().and_then(AuthResource::parent) {
            chain.push(parent);
        }
        chain
    }

    /// Cassandra's `applicablePermissions()`.
    pub fn applicable_permissions(&self) -> &'static [Permission] {
        let level = match self {
            AuthResource::AllKeyspaces | AuthResource::Keyspace(_) => ResourceLevel::Keyspace,
            AuthResource::Table(..) => ResourceLevel::Table,
            AuthResource::AllRoles => ResourceLevel::AllRoles,
            AuthResource::Role(_) => ResourceLevel::Role,
            AuthResource::AllFunctions | AuthResource::FunctionsIn(_) => ResourceLevel::Functions,
            AuthResource::Function { .. } => ResourceLevel::Function,
        };
        level.applicable_permissions()
    }
}

/// Cassandra's `toString()` of a resource, as messages and LIST PERMISSIONS print it.
impl fmt::Display for AuthResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthResource::AllKeyspaces => f.write_str("<all keyspaces>"),
            AuthResource::Keyspace(ks) => write!(f, "<keyspace {ks}>"),
            AuthResource::Table(ks, t) => write!(f, "<table {ks}.{t}>"),
            AuthResource::AllRoles => f.write_str("<all roles>"),
            AuthResource::Role(r) => write!(f, "<role {r}>"),
            AuthResource::AllFunctions => f.write_str("<all functions>"),
            AuthResource::FunctionsIn(ks) => write!(f, "<all functions in {ks}>"),
            AuthResource::Function {
                keyspace,
                name,
                arguments,
            } => write!(f, "<function {keyspace}.{name}({})>", arguments.join(", ")),
        }
    }
}

/// One row of `system_auth.roles`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleRecord {
    pub is_superuser: bool,
    pub can_login: bool,
    pub member_of: BTreeSet<String>,
    pub salted_hash: Option<String>,
}

/// Roles and permissions as loaded from `system_auth`: every one (for the role statements
/// and LIST), or a login's role with the roles granted to it and their permissions (for
/// the checks of its statements; `exec::auth::store::subject`).
#[derive(Clone, Debug, Default)]
pub struct AuthState {
    pub roles: BTreeMap<String, RoleRecord>,
    /// role -> resource name -> permissions granted directly.
    pub permissions: BTreeMap<String, BTreeMap<String, BTreeSet<Permission>>>,
}

impl AuthState {
    pub fn role(&self, name: &str) -> Option<&RoleRecord> {
        self.roles.get(name)
    }

    /// The role and every role granted to it, directly or through others (Cassandra's
    /// `getRoles(role, true)`); `recursive: false` gives the direct grants and the role.
    pub fn roles_of(&self, role: &str, recursive: bool) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut pending = vec![role.to_string()];
        while let Some(next) = pending.pop() {
            if !seen.insert(next.clone()) {
                continue;
            }
            if let Some(record) = self.roles.get(&next) {
                if recursive || next == role {
                    pending.extend(record.member_of.iter().cloned());
                } else {
                    continue;
                }
            }
        }
        seen.retain(|r| self.roles.contains_key(r));
        seen
    }

    /// Whether the role or one it inherits is a superuser (`Roles.hasSuperuserStatus`).
    pub fn is_superuser(&self, role: &str) -> bool {
        self.roles_of(role, true)
            .iter()
            .any(|r| self.roles.get(r).is_some_and(|record| record.is_superuser))
    }

    /// The permissions `role` holds on exactly `resource`, inherited ones included.
    pub fn permissions_on(&self, role: &str, resource: &AuthResource) -> BTreeSet<Permission> {
        let name = resource.name();
        self.roles_of(role, true)
            .iter()
            .filter_map(|r| self.permissions.get(r).and_then(|by| by.get(&name)))
            .flatten()
            .copied()
            .collect()
    }

    /// Whether `role` holds `permission` on `resource` or one of its parents
    /// (`ClientState.ensurePermissionOnResourceChain`), superusers always.
    pub fn has_permission(
        &self,
        role: &str,
        permission: Permission,
        resource: &AuthResource,
    ) -> bool {
        self.is_superuser(role)
            || resource
                .chain()
                .iter()
                .any(|r| self.permissions_on(role, r).contains(&permission))
    }
}

/// The message of a missing permission, Cassandra's words.
pub fn no_permission(user: &str, permission: Permission, resource: &AuthResource) -> AuthError {
    AuthError::Unauthorized(format!(
        "User {user} has no {} permission on {resource} or any of its parents",
        permission.name()
    ))
}

/// How long one kind of cached entry is served (Cassandra's `*_validity` and
/// `*_update_interval`): an entry younger than `refresh` is served as it is; an older one is
/// read again, and while it is younger than `validity` it is still served if that read fails.
/// A `validity` of zero disables the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheTimes {
    pub validity: Duration,
    pub refresh: Duration,
}

impl CacheTimes {
    /// `update_interval` `None`: Cassandra's -1, the same as the validity.
    pub fn new(validity: Duration, update_interval: Option<Duration>) -> CacheTimes {
        CacheTimes {
            validity,
            refresh: update_interval.unwrap_or(validity).min(validity),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.validity.is_zero()
    }
}

impl Default for CacheTimes {
    fn default() -> CacheTimes {
        CacheTimes::new(VALIDITY, None)
    }
}

/// The three caches' times, from `roles_validity`, `permissions_validity` and
/// `credentials_validity` (and their `*_update_interval`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthCacheTimes {
    pub roles: CacheTimes,
    pub permissions: CacheTimes,
    pub credentials: CacheTimes,
}

/// Entries by role name, each with the moment it was read.
pub struct TimedCache<T> {
    times: CacheTimes,
    entries: Mutex<HashMap<String, (T, Instant)>>,
}

impl<T: Clone> TimedCache<T> {
    fn new(times: CacheTimes) -> TimedCache<T> {
        TimedCache {
            times,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn times(&self) -> CacheTimes {
        self.times
    }

    /// The entry of `key` and when it was read, if that was less than `within` ago.
    fn younger_than(&self, key: &str, within: Duration) -> Option<(T, Instant)> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, read)| read.elapsed() < within)
            .cloned()
    }

    /// The entry to serve without reading again, and when it was read.
    pub fn fresh(&self, key: &str) -> Option<(T, Instant)> {
        self.younger_than(key, self.times.refresh)
    }

    /// The entry to serve when reading it again failed, and when it was read.
    pub fn valid(&self, key: &str) -> Option<(T, Instant)> {
        self.younger_than(key, self.times.validity)
    }

    /// Until when an entry read at `read` is served without reading again.
    pub fn fresh_until(&self, read: Instant) -> Instant {
        read + self.times.refresh
    }

    /// Keeps what was read at `read` (nothing when the cache is disabled).
    pub fn store(&self, key: &str, value: T, read: Instant) {
        if !self.times.enabled() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, at)| at.elapsed() < self.times.validity);
            entries.insert(key.to_string(), (value, read));
        }
    }

    fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// What checking a login's statements needs, worked out once from its role, the roles
/// granted to it and their permissions (`exec::auth::store::subject`): its superuser
/// status and the permissions it holds on each resource, inherited ones included.
#[derive(Debug, Default)]
pub struct Subject {
    /// `AuthState::is_superuser(user)`.
    pub superuser: bool,
    /// Resource name -> `AuthState::permissions_on(user, resource)`.
    granted: HashMap<String, BTreeSet<Permission>>,
}

impl Subject {
    /// `user`'s subject, from a state holding its roles and their permissions.
    pub fn new(user: &str, state: &AuthState) -> Subject {
        let mut granted: HashMap<String, BTreeSet<Permission>> = HashMap::new();
        for role in state.roles_of(user, true) {
            for (resource, permissions) in state.permissions.get(&role).into_iter().flatten() {
                granted
                    .entry(resource.clone())
                    .or_default()
                    .extend(permissions.iter().copied());
            }
        }
        Subject {
            superuser: state.is_superuser(user),
            granted,
        }
    }

    /// `AuthState::has_permission` for this subject's user.
    pub fn has_permission(&self, permission: Permission, resource: &AuthResource) -> bool {
        self.superuser
            || resource.chain().iter().any(|r| {
                self.granted
                    .get(&r.name())
                    .is_some_and(|held| held.contains(&permission))
            })
    }
}

/// Assembled subjects by user. Each is served until the first of the cache entries it was
/// assembled from stops being fresh (so never where those entries would be read again:
/// `roles_validity` and `permissions_validity` mean what they meant), and not across an
/// invalidation: a subject assembled while a change was made here is not kept.
#[derive(Default)]
pub struct SubjectCache {
    entries: Mutex<HashMap<String, (Arc<Subject>, Instant)>>,
    generation: AtomicU64,
}

impl SubjectCache {
    /// The invalidations so far: taken before assembling a subject, handed to `store`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// `user`'s subject while every entry it was assembled from is fresh.
    pub fn fresh(&self, user: &str) -> Option<Arc<Subject>> {
        let entries = self.entries.lock().ok()?;
        let (subject, until) = entries.get(user)?;
        (Instant::now() < *until).then(|| subject.clone())
    }

    /// Keeps `subject` until `until`, unless the caches were invalidated since
    /// `generation` was taken.
    pub fn store(&self, user: &str, subject: Arc<Subject>, until: Instant, generation: u64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Checked under the lock `clear` takes too, so a store cannot land after a clear
        // that followed the generation it was assembled in.
        if self.generation() != generation || Instant::now() >= until {
            return;
        }
        let now = Instant::now();
        entries.retain(|_, (_, until)| now < *until);
        entries.insert(user.to_string(), (subject, until));
    }

    fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }
}

/// What this node read of `system_auth`, per role and while valid, as Cassandra's
/// `RolesCache`, `PermissionsCache` and `CredentialsCache`; shared by its connections.
pub struct AuthCache {
    /// Role rows.
    pub roles: TimedCache<RoleRecord>,
    /// The permissions granted directly to a role, by resource name.
    pub permissions: TimedCache<BTreeMap<String, BTreeSet<Permission>>>,
    /// Salted hashes of the roles that have one.
    pub credentials: TimedCache<String>,
    /// Subjects assembled from `roles` and `permissions`, by user.
    pub subjects: SubjectCache,
    /// Serialises role and permission changes on this node, so that each one's checks
    /// (exists? already a member?) see the changes before it.
    pub changes: tokio::sync::Mutex<()>,
}

impl AuthCache {
    pub fn new(times: AuthCacheTimes) -> AuthCache {
        AuthCache {
            roles: TimedCache::new(times.roles),
            permissions: TimedCache::new(times.permissions),
            credentials: TimedCache::new(times.credentials),
            subjects: SubjectCache::default(),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// Drops everything after a change made here (Cassandra invalidates its caches'
    /// entries on ALTER, DROP, GRANT and REVOKE), so the next statement reads afresh.
    pub fn invalidate(&self) {
        self.roles.clear();
        self.permissions.clear();
        self.credentials.clear();
        self.subjects.clear();
    }
}

impl Default for AuthCache {
    fn default() -> AuthCache {
        AuthCache::new(AuthCacheTimes::default())
    }
}

/// A salted bcrypt hash in the `$2a$10$` form Cassandra's jBCrypt writes.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    bcrypt::hash_with_result(password, BCRYPT_COST)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches a stored hash; a malformed hash matches nothing.
pub fn check_password(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// Whether `hash` is a bcrypt hash Cassandra would accept for `HASHED PASSWORD`.
pub fn is_bcrypt_hash(hash: &str) -> bool {
    bcrypt::verify("", hash).is_ok()
}

/// The message of every failed login, so that it does not tell which part was wrong.
pub fn bad_credentials(user: &str) -> AuthError {
    AuthError::BadCredentials(format!(
        "Provided username {user} and/or password are incorrect"
    ))
}

/// Decodes a SASL PLAIN token (`[authzid] NUL authcid NUL password`) into user and
/// password, with Cassandra's messages (`PlainTextSaslAuthenticator.decodeCredentials`).
pub fn decode_plain(token: &[u8]) -> Result<(String, String), AuthError> {
    let mut parts = token.rsplitn(3, |b| *b == 0);
    let password = parts.next().unwrap_or_default();
    let user = parts.next();
    if parts.next().is_some_and(|authzid| authzid.contains(&0)) {
        return Err(AuthError::BadCredentials(
            "Credential format error: username or password is empty or contains NUL(\\0) character"
                .into(),
        ));
    }
    let Some(user) = user else {
        return Err(AuthError::BadCredentials(
            "Password must not be null".into(),
        ));
    };
    if password.is_empty() {
        return Err(AuthError::BadCredentials(
            "Password must not be null".into(),
        ));
    }
    if user.is_empty() {
        return Err(AuthError::BadCredentials(
            "Authentication ID must not be null".into(),
        ));
    }
    Ok((
        String::from_utf8_lossy(user).into_owned(),
        String::from_utf8_lossy(password).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(superuser: bool, member_of: &[&str]) -> RoleRecord {
        RoleRecord {
            is_superuser: superuser,
            can_login: true,
            member_of: member_of.iter().map(|s| s.to_string()).collect(),
            salted_hash: None,
        }
    }

    #[test]
    fn resource_names_round_trip_and_chain() {
        let resources = [
            AuthResource::AllKeyspaces,
            AuthResource::Keyspace("ks".into()),
            AuthResource::Table("ks".into(), "t".into()),
            AuthResource::AllRoles,
            AuthResource::Role("r".into()),
            AuthResource::AllFunctions,
            AuthResource::FunctionsIn("ks".into()),
            AuthResource::Function {
                keyspace: "ks".into(),
                name: "f".into(),
                arguments: vec!["int".into(), "text".into()],
            },
        ];
        for resource in resources {
            assert_eq!(
                AuthResource::from_name(&resource.name()),
                Some(resource.clone())
            );
        }
        let table = AuthResource::Table("ks".into(), "t".into());
        assert_eq!(table.to_string(), "<table ks.t>");
        assert_eq!(
            table.chain(),
            vec![
                table.clone(),
                AuthResource::Keyspace("ks".into()),
                AuthResource::AllKeyspaces
            ]
        );
    }

    #[test]
    fn inheritance_follows_grants_and_survives_cycles() {
        let mut state = AuthState::default();
        state.roles.insert("admin".into(), role(true, &[]));
        state.roles.insert("reader".into(), role(false, &["dev"]));
        state.roles.insert("dev".into(), role(false, &["reader"]));
        state.roles.insert("bob".into(), role(false, &["reader"]));
        state
            .permissions
            .entry("dev".into())
            .or_default()
            .insert("data/ks".into(), BTreeSet::from([Permission::Select]));
        let table = AuthResource::Table("ks".into(), "t".into());
        assert!(state.has_permission("bob", Permission::Select, &table));
        assert!(!state.has_permission("bob", Permission::Modify, &table));
        assert!(state.has_permission("admin", Permission::Modify, &table));
        // A subject answers as the state it was built from.
        let (bob, admin) = (Subject::new("bob", &state), Subject::new("admin", &state));
        assert!(bob.has_permission(Permission::Select, &table));
        assert!(!bob.has_permission(Permission::Modify, &table));
        assert!(!bob.superuser && admin.superuser);
        assert!(admin.has_permission(Permission::Modify, &table));
        assert_eq!(
            state.roles_of("bob", false),
            BTreeSet::from(["bob".to_string(), "reader".to_string()])
        );
        assert_eq!(state.roles_of("bob", true).len(), 3);
    }

    #[test]
    fn cached_entries_are_refreshed_then_expire_and_zero_disables() {
        let ms = Duration::from_millis;
        let times = CacheTimes::new(ms(200), Some(ms(50)));
        assert_eq!((times.validity, times.refresh), (ms(200), ms(50)));
        assert_eq!(CacheTimes::new(ms(200), None).refresh, ms(200));
        assert_eq!(CacheTimes::new(ms(200), Some(ms(900))).refresh, ms(200));
        let cache = TimedCache::new(times);
        let now = Instant::now();
        cache.store("a", 1, now);
        assert_eq!(
            (cache.fresh("a"), cache.valid("a")),
            (Some((1, now)), Some((1, now)))
        );
        assert_eq!(cache.fresh_until(now), now + ms(50));
        let b = now - ms(100);
        cache.store("b", 2, b);
        assert_eq!((cache.fresh("b"), cache.valid("b")), (None, Some((2, b))));
        cache.store("c", 3, now - ms(300));
        assert_eq!((cache.fresh("c"), cache.valid("c")), (None, None));
        assert_eq!(cache.fresh("missing"), None);
        let auth = AuthCache::new(AuthCacheTimes {
            roles: times,
            ..AuthCacheTimes::default()
        });
        auth.roles.store("r", RoleRecord::default(), now);
        auth.invalidate();
        assert_eq!(auth.roles.valid("r"), None);
        let off = TimedCache::new(CacheTimes::new(Duration::ZERO, None));
        off.store("a", 1, now);
        assert_eq!(off.valid("a"), None);
    }

    /// A subject is served until the deadline it was stored with, and one assembled across
    /// an invalidation (a change made here meanwhile) is not kept at all.
    #[test]
    fn subjects_are_served_until_their_entries_go_stale_and_never_across_a_change() {
        let auth = AuthCache::default();
        let later = Instant::now() + Duration::from_secs(60);
        let subject = Arc::new(Subject::default());
        let generation = auth.subjects.generation();
        auth.subjects
            .store("bob", subject.clone(), later, generation);
        assert!(auth.subjects.fresh("bob").is_some());
        auth.invalidate();
        assert!(auth.subjects.fresh("bob").is_none());
        auth.subjects
            .store("bob", subject.clone(), later, generation);
        assert!(
            auth.subjects.fresh("bob").is_none(),
            "assembled before the change"
        );
        let past = Instant::now() - Duration::from_millis(1);
        auth.subjects
            .store("bob", subject, past, auth.subjects.generation());
        assert!(auth.subjects.fresh("bob").is_none(), "already stale");
    }

    #[test]
    fn passwords_hash_as_cassandra_stores_them() {
        let hash = hash_password("secret").expect("hash");
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert!(check_password("secret", &hash));
        assert!(!check_password("Secret", &hash));
        assert!(!check_password("secret", "not a hash"));
        assert!(is_bcrypt_hash(&hash));
        assert!(!is_bcrypt_hash("secret"));
    }

    #[test]
    fn sasl_plain_tokens() {
        assert_eq!(
            decode_plain(b"\0cassandra\0secret").expect("valid"),
            ("cassandra".into(), "secret".into())
        );
        assert_eq!(
            decode_plain(b"authz\0bob\0pw").expect("valid").0,
            "bob".to_string()
        );
        for (token, message) in [
            (&b"\0bob\0"[..], "Password must not be null"),
            (&b"\0\0pw"[..], "Authentication ID must not be null"),
            (&b"nothing"[..], "Password must not be null"),
        ] {
            let error = decode_plain(token).expect_err("refused");
            assert_eq!(error.to_string(), message);
        }
    }
}
