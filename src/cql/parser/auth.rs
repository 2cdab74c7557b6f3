//! Role and permission statements (Cassandra's `Parser.g`: `createRoleStatement`,
//! `createUserStatement`, `grantPermissionsStatement`, `listPermissionsStatement`...).

use super::super::ast::*;
use super::super::lexer::{Symbol, TokenKind};
use super::{PResult, Parser};

/// The words of Cassandra's `permission` rule.
const PERMISSION_WORDS: &[&str] = &[
    "CREATE",
    "ALTER",
    "DROP",
    "SELECT",
    "MODIFY",
    "AUTHORIZE",
    "DESCRIBE",
    "EXECUTE",
    "UNMASK",
    "SELECT_MASKED",
];

impl Parser<'_> {
    /// `userOrRoleName`: unquoted names are lowercased, quoted names and strings kept.
    fn role_name(&mut self) -> PResult<Ident> {
        if self.at(Symbol::QMark) {
            return Err(self.plain_error("Bind variables cannot be used for role names".into()));
        }
        if self.peek().kind == TokenKind::String {
            return Ok(self.advance_text());
        }
        self.ident()
    }

    /// `username` of the legacy USER statements: the name keeps its case.
    fn user_name(&mut self) -> PResult<Ident> {
        let token = self.peek();
        match token.kind {
            TokenKind::String | TokenKind::QuotedName => Ok(self.advance_text()),
            TokenKind::Word if self.ident_at(0) => Ok(self.advance_text()),
            _ => Err(self.no_viable()),
        }
    }

    /// `ROLE|USER [IF ...] name`, after CREATE, ALTER or DROP: whether it is the legacy USER
    /// form, the IF clause and the name; `None` when neither word follows.
    fn role_head(
        &mut self,
        if_clause: fn(&mut Self) -> PResult<bool>,
    ) -> PResult<Option<(bool, bool, Ident)>> {
        let user = self.at_word("USER");
        if !(user || self.at_word("ROLE")) {
            return Ok(None);
        }
        self.advance();
        let condition = if_clause(self)?;
        let name = if user {
            self.user_name()?
        } else {
            self.role_name()?
        };
        Ok(Some((user, condition, name)))
    }

    /// The options of a role statement: `WITH ...` for roles, the legacy form for users.
    fn options_for(&mut self, user: bool) -> PResult<RoleOptions> {
        if user {
            self.user_options()
        } else {
            self.role_options()
        }
    }

    /// After `CREATE`: `ROLE ...` or `USER ...`; `None` when neither follows.
    pub(super) fn create_role_statement(&mut self) -> PResult<Option<Statement>> {
        let Some((user, if_not_exists, name)) = self.role_head(Self::if_not_exists)? else {
            return Ok(None);
        };
        Ok(Some(Statement::CreateRole(CreateRole {
            if_not_exists,
            name,
            options: self.options_for(user)?,
            user,
        })))
    }

    /// After `ALTER`: `ROLE ...` or `USER ...`.
    pub(super) fn alter_role_statement(&mut self) -> PResult<Option<Statement>> {
        let Some((user, if_exists, name)) = self.role_head(Self::if_exists)? else {
            return Ok(None);
        };
        Ok(Some(Statement::AlterRole(AlterRole {
            if_exists,
            name,
            options: self.options_for(user)?,
            user,
        })))
    }

    /// After `DROP`: `ROLE ...` or `USER ...`.
    pub(super) fn drop_role_statement(&mut self) -> PResult<Option<Statement>> {
        let Some((user, if_exists, name)) = self.role_head(Self::if_exists)? else {
            return Ok(None);
        };
        Ok(Some(Statement::DropRole(DropRole {
            if_exists,
            name,
            user,
        })))
    }

    /// `[WITH roleOption (AND roleOption)*]`
    fn role_options(&mut self) -> PResult<RoleOptions> {
        let mut options = RoleOptions::default();
        if !self.accept_word("WITH") {
            return Ok(options);
        }
        loop {
            self.role_option(&mut options)?;
            if !self.accept_word("AND") {
                return Ok(options);
            }
        }
    }

    /// `roleOption`: PASSWORD, HASHED PASSWORD, OPTIONS, SUPERUSER, LOGIN.
    fn role_option(&mut self, options: &mut RoleOptions) -> PResult<()> {
        let word = self.peek().text.to_ascii_uppercase();
        let hashed = word == "HASHED";
        if hashed {
            self.advance();
            if !self.at_word("PASSWORD") {
                return Err(self.mismatched("K_PASSWORD"));
            }
        }
        let name = match (hashed, self.peek().text.to_ascii_uppercase().as_str()) {
            (true, _) => "HASHED_PASSWORD",
            (false, "PASSWORD") => "PASSWORD",
            (false, "OPTIONS") => "OPTIONS",
            (false, "SUPERUSER") => "SUPERUSER",
            (false, "LOGIN") => "LOGIN",
            _ => return Err(self.no_viable()),
        };
        let present = match name {
            "PASSWORD" => options.password.is_some(),
            "HASHED_PASSWORD" => options.hashed_password.is_some(),
            "OPTIONS" => options.options.is_some(),
            "SUPERUSER" => options.superuser.is_some(),
            _ => options.login.is_some(),
        };
        if present {
            return Err(self.plain_error(format!("Multiple definition for property {name}")));
        }
        self.advance();
        self.expect(Symbol::Eq)?;
        match name {
            "PASSWORD" => options.password = Some(self.string_literal()?),
            "HASHED_PASSWORD" => options.hashed_password = Some(self.string_literal()?),
            "OPTIONS" => options.options = Some(self.string_map()?),
            "SUPERUSER" => options.superuser = Some(self.boolean()?),
            _ => options.login = Some(self.boolean()?),
        }
        Ok(())
    }

    /// The legacy user options: `[WITH [HASHED] PASSWORD 'p'] [SUPERUSER|NOSUPERUSER]`.
    fn user_options(&mut self) -> PResult<RoleOptions> {
        let mut options = RoleOptions::default();
        if self.accept_word("WITH") {
            let hashed = self.accept_word("HASHED");
            self.expect_word("PASSWORD")?;
            let password = self.string_literal()?;
            if hashed {
                options.hashed_password = Some(password);
            } else {
                options.password = Some(password);
            }
        }
        if self.accept_word("SUPERUSER") {
            options.superuser = Some(true);
        } else if self.accept_word("NOSUPERUSER") {
            options.superuser = Some(false);
        }
        Ok(options)
    }

    /// `BOOLEAN`
    fn boolean(&mut self) -> PResult<bool> {
        let value = match self.peek().text.to_ascii_lowercase().as_str() {
            "true" if self.peek().kind == TokenKind::Word => true,
            "false" if self.peek().kind == TokenKind::Word => false,
            _ => return Err(self.mismatched("BOOLEAN")),
        };
        self.advance();
        Ok(value)
    }

    /// `{'k': 'v', ...}` (the role OPTIONS map).
    fn string_map(&mut self) -> PResult<Vec<(String, String)>> {
        self.expect(Symbol::LBrace)?;
        let mut entries = Vec::new();
        if self.accept(Symbol::RBrace) {
            return Ok(entries);
        }
        loop {
            let key = self.string_literal()?;
            self.expect(Symbol::Colon)?;
            entries.push((key, self.string_literal()?));
            if !self.accept(Symbol::Comma) {
                self.expect(Symbol::RBrace)?;
                return Ok(entries);
            }
        }
    }

    /// `GRANT ... TO` (`grant`) or `REVOKE ... FROM`: of a role, or of permissions.
    pub(super) fn grant_statement(&mut self, grant: bool) -> PResult<Statement> {
        let (keyword, preposition) = if grant {
            ("GRANT", "TO")
        } else {
            ("REVOKE", "FROM")
        };
        self.expect_word(keyword)?;
        if self.permission_ahead() {
            let (permissions, all) = self.permission_or_all()?;
            self.expect_word("ON")?;
            let resource = self.resource()?;
            let permissions = self.filter_permissions(permissions, &resource)?;
            self.expect_word(preposition)?;
            let change = PermissionChange {
                permissions,
                all,
                resource,
                role: self.role_name()?,
            };
            return Ok(if grant {
                Statement::GrantPermissions(change)
            } else {
                Statement::RevokePermissions(change)
            });
        }
        let role = self.role_name()?;
        self.expect_word(preposition)?;
        let change = RoleGrant {
            role,
            grantee: self.role_name()?,
        };
        Ok(if grant {
            Statement::GrantRole(change)
        } else {
            Statement::RevokeRole(change)
        })
    }

    /// `LIST ROLES ...`, `LIST USERS` or `LIST permissions ...`.
    pub(super) fn list_statement(&mut self) -> PResult<Statement> {
        self.expect_word("LIST")?;
        if self.accept_word("USERS") {
            return Ok(Statement::ListUsers);
        }
        if self.accept_word("ROLES") {
            let of = if self.accept_word("OF") {
                Some(self.role_name()?)
            } else {
                None
            };
            let recursive = !self.accept_word("NORECURSIVE");
            return Ok(Statement::ListRoles(ListRoles { of, recursive }));
        }
        let (permissions, all) = self.permission_or_all()?;
        let resource = if self.accept_word("ON") {
            Some(self.resource()?)
        } else {
            None
        };
        let permissions = match &resource {
            Some(resource) => self.filter_permissions(permissions, resource)?,
            None => permissions,
        };
        let of = if self.accept_word("OF") {
            Some(self.role_name()?)
        } else {
            None
        };
        let recursive = !self.accept_word("NORECURSIVE");
        Ok(Statement::ListPermissions(ListPermissions {
            permissions,
            all,
            resource,
            of,
            recursive,
        }))
    }

    /// Whether a permission (not a role name) follows GRANT/REVOKE: a permission word
    /// followed by ON or PERMISSION, or ALL.
    fn permission_ahead(&self) -> bool {
        let next = self.peek_at(1);
        let word_then_on = PERMISSION_WORDS.iter().any(|w| self.at_word(w))
            && (next.is_word("ON") || next.is_word("PERMISSION"));
        let all = self.at_word("ALL") && (next.is_word("ON") || next.is_word("PERMISSIONS"));
        word_then_on || all
    }

    /// `permissionOrAll`: `ALL [PERMISSIONS]` or one `permission [PERMISSION]`.
    fn permission_or_all(&mut self) -> PResult<(Vec<Permission>, bool)> {
        if self.accept_word("ALL") {
            let _ = self.accept_word("PERMISSIONS");
            return Ok((Permission::ALL.to_vec(), true));
        }
        let permission = Permission::from_name(&self.peek().text)
            .filter(|_| self.peek().kind == TokenKind::Word)
            .ok_or_else(|| self.no_viable())?;
        self.advance();
        let _ = self.accept_word("PERMISSION");
        Ok((vec![permission], false))
    }

    /// Cassandra's `filterPermissions`: the requested permissions the resource supports.
    fn filter_permissions(
        &self,
        permissions: Vec<Permission>,
        resource: &Resource,
    ) -> PResult<Vec<Permission>> {
        let applicable = resource.level().applicable_permissions();
        let kept: Vec<Permission> = permissions
            .into_iter()
            .filter(|p| applicable.contains(p))
            .collect();
        if kept.is_empty() {
            return Err(self.plain_error(format!(
                "Resource type {} does not support any of the requested permissions",
                resource.class_name()
            )));
        }
        Ok(kept)
    }

    /// `resource`: data, role or function resources.
    fn resource(&mut self) -> PResult<Resource> {
        if self.accept_word("ALL") {
            if self.accept_word("KEYSPACES") {
                return Ok(Resource::AllKeyspaces);
            }
            if self.accept_word("ROLES") {
                return Ok(Resource::AllRoles);
            }
            if self.accept_word("FUNCTIONS") {
                if self.accept_word("IN") {
                    self.expect_word("KEYSPACE")?;
                    return Ok(Resource::FunctionsIn(self.keyspace_name()?));
                }
                return Ok(Resource::AllFunctions);
            }
            return Err(self.no_viable());
        }
        if self.accept_word("KEYSPACE") {
            return Ok(Resource::Keyspace(self.keyspace_name()?));
        }
        if self.accept_word("ROLE") {
            return Ok(Resource::Role(self.role_name()?));
        }
        if self.at_word("FUNCTION") && !self.peek_at(1).is_symbol(Symbol::Dot) {
            self.advance();
            let name = self.function_name()?;
            let argument_types = self.optional_parenthesized_list(Self::cql_type)?;
            return Ok(Resource::Function {
                name,
                argument_types,
            });
        }
        let _ = self.accept_table_keyword();
        Ok(Resource::Table(self.qualified_name()?))
    }
}
