//! User-defined types: CREATE, ALTER and DROP TYPE.
//!
//! Invariants:
//! - A type only names types of its own keyspace that already exist, so type
//!   references form no cycle (ALTER TYPE ... ADD checks the new field the same way).
//! - A type used by a table or by another type cannot be dropped.
//! - Fields are only added or renamed, never retyped or removed, so stored values
//!   (frozen: positional fields; non-frozen: one cell per field index) stay readable.

use strata_protocol::{SchemaChange, SchemaChangeTarget, SchemaChangeType};

use crate::cql::ast::{AlterType, AlterTypeAction, CreateType, DropObject, QualifiedName};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::exec::context::DdlOutcome;
use crate::schema::{Catalog, Keyspace, KeyspaceUdts, SchemaWrite, TypeDef};
use crate::types::CqlType;

/// Cassandra's bound on a UDT's field count (fields are indexed by u16 in storage).
const MAX_FIELDS: usize = 32_767;

fn type_event(change: SchemaChangeType, keyspace: &str, name: &str) -> SchemaChange {
    SchemaChange {
        change,
        target: SchemaChangeTarget::Type {
            keyspace: keyspace.to_string(),
            name: name.to_string(),
        },
    }
}

/// The user keyspace a type statement names.
fn user_keyspace<'c>(
    ctx: &Context<'_>,
    catalog: &'c Catalog,
    name: &QualifiedName,
) -> CqlResult<(String, &'c Keyspace)> {
    let keyspace = ctx.keyspace_of(name)?;
    let ks = catalog
        .keyspace(&keyspace)
        .ok_or_else(|| CqlError::invalid(format!("Keyspace '{keyspace}' doesn't exist")))?;
    if ks.system {
        return Err(CqlError::Unauthorized(format!(
            "{keyspace} keyspace is not user-modifiable."
        )));
    }
    Ok((keyspace, ks))
}

/// Parses and checks a field type against the keyspace's existing types.
fn field_type(keyspace: &Keyspace, ty: &impl ToString) -> CqlResult<CqlType> {
    let ty = CqlType::parse(
        &ty.to_string(),
        &KeyspaceUdts::new(&keyspace.def.name, &keyspace.types),
    )?;
    if ty.is_counter() {
        return Err(CqlError::invalid("A user type cannot contain counters"));
    }
    if matches!(ty, CqlType::Udt { frozen: false, .. }) {
        return Err(CqlError::invalid(
            "A user type cannot contain non-frozen UDTs",
        ));
    }
    Ok(ty)
}

pub async fn create_type(ctx: &Context<'_>, s: &CreateType) -> CqlResult<DdlOutcome> {
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let (keyspace, ks) = user_keyspace(ctx, &catalog, &s.name)?;
    let name = s.name.name.clone();
    if ks.types.contains_key(&name) {
        if s.if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::invalid(format!(
            "A user type with name '{name}' already exists"
        )));
    }
    if s.fields.len() > MAX_FIELDS {
        return Err(CqlError::invalid(format!(
            "A user type cannot have more than {MAX_FIELDS} fields"
        )));
    }
    let mut def = TypeDef {
        keyspace: keyspace.clone(),
        name: name.clone(),
        field_names: Vec::new(),
        field_types: Vec::new(),
    };
    for (field, ty) in &s.fields {
        if def.field_names.contains(field) {
            return Err(CqlError::invalid(format!(
                "Duplicate field name '{field}' in type '{name}'"
            )));
        }
        def.field_names.push(field.clone());
        def.field_types.push(field_type(ks, ty)?.to_string());
    }
    ctx.node
        .commit_schema(&catalog, vec![SchemaWrite::PutType(def)])
        .await?;
    Ok(Some(type_event(
        SchemaChangeType::Created,
        &keyspace,
        &name,
    )))
}

pub async fn alter_type(ctx: &Context<'_>, s: &AlterType) -> CqlResult<DdlOutcome> {
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let (keyspace, ks) = user_keyspace(ctx, &catalog, &s.name)?;
    let name = &s.name.name;
    let Some(existing) = ks.types.get(name) else {
        if s.if_exists {
            return Ok(None);
        }
        return Err(CqlError::invalid(format!(
            "Type '{keyspace}.{name}' doesn't exist"
        )));
    };
    let mut def = existing.clone();
    match &s.action {
        AlterTypeAction::AlterField { .. } => {
            return Err(CqlError::invalid(
                "Alterations of field types are not supported",
            ))
        }
        AlterTypeAction::Add {
            if_not_exists,
            field,
            ty,
        } => {
            if def.field_names.contains(field) {
                if *if_not_exists {
                    return Ok(None);
                }
                return Err(CqlError::invalid(format!("Cannot add new field {field} to type {keyspace}.{name}: a field with name {field} already exists")));
            }
            let ty = field_type(ks, ty)?;
            if references(&ty, name) {
                return Err(CqlError::invalid(format!("Cannot add new field {field} of type {ty} to user type {keyspace}.{name} as it would create a circular reference")));
            }
            if def.field_names.len() >= MAX_FIELDS {
                return Err(CqlError::invalid(format!(
                    "A user type cannot have more than {MAX_FIELDS} fields"
                )));
            }
            def.field_names.push(field.clone());
            def.field_types.push(ty.to_string());
        }
        AlterTypeAction::Rename { if_exists, renames } => {
            for (from, to) in renames {
                let Some(position) = def.field_names.iter().position(|f| f == from) else {
                    if *if_exists {
                        continue;
                    }
                    return Err(CqlError::invalid(format!(
                        "Unkown field {from} in user type {keyspace}.{name}"
                    )));
                };
                if def.field_names.contains(to) {
                    return Err(CqlError::invalid(format!(
                        "Duplicate field name {to} in type {keyspace}.{name}"
                    )));
                }
                if let Some(field) = def.field_names.get_mut(position) {
                    *field = to.clone();
                }
            }
        }
    }
    ctx.node
        .commit_schema(&catalog, vec![SchemaWrite::PutType(def)])
        .await?;
    Ok(Some(type_event(SchemaChangeType::Updated, &keyspace, name)))
}

/// Whether `ty` is or contains the user type `name`.
fn references(ty: &CqlType, name: &str) -> bool {
    match ty {
        CqlType::Udt { def, .. } => {
            def.name == name || def.fields.iter().any(|(_, t)| references(t, name))
        }
        CqlType::List { element, .. }
        | CqlType::Set { element, .. }
        | CqlType::Vector { element, .. } => references(element, name),
        CqlType::Map { key, value, .. } => references(key, name) || references(value, name),
        CqlType::Tuple(items) => items.iter().any(|t| references(t, name)),
        CqlType::Native(_) | CqlType::Custom(_) => false,
    }
}

pub async fn drop_type(ctx: &Context<'_>, s: &DropObject) -> CqlResult<DdlOutcome> {
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let (keyspace, ks) = user_keyspace(ctx, &catalog, &s.name)?;
    let name = &s.name.name;
    if !ks.types.contains_key(name) {
        if s.if_exists {
            return Ok(None);
        }
        return Err(CqlError::invalid(format!(
            "User type '{keyspace}.{name}' doesn't exist"
        )));
    }
    let tables: Vec<&str> = ks
        .tables
        .values()
        .filter(|t| t.types.iter().any(|ty| references(ty, name)))
        .map(|t| t.def.name.as_str())
        .collect();
    if !tables.is_empty() {
        return Err(CqlError::invalid(format!(
            "Cannot drop user type '{keyspace}.{name}' as it is still used by tables {}",
            tables.join(", ")
        )));
    }
    let resolver = KeyspaceUdts::new(&keyspace, &ks.types);
    let users: Vec<&str> = ks
        .types
        .keys()
        .filter(|other| *other != name)
        .filter(|other| {
            resolver
                .resolve(other)
                .is_some_and(|def| def.fields.iter().any(|(_, t)| references(t, name)))
        })
        .map(String::as_str)
        .collect();
    if !users.is_empty() {
        return Err(CqlError::invalid(format!(
            "Cannot drop user type '{keyspace}.{name}' as it is still used by user types {}",
            users.join(", ")
        )));
    }
    ctx.node
        .commit_schema(
            &catalog,
            vec![SchemaWrite::DropType {
                keyspace: keyspace.clone(),
                name: name.clone(),
            }],
        )
        .await?;
    Ok(Some(type_event(SchemaChangeType::Dropped, &keyspace, name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{NativeType, UdtDef};

    #[test]
    fn references_finds_nested_types() {
        let inner = CqlType::Udt {
            def: Box::new(UdtDef {
                keyspace: "ks".into(),
                name: "a".into(),
                fields: Vec::new(),
            }),
            frozen: true,
        };
        let list = CqlType::List {
            element: Box::new(inner),
            frozen: false,
        };
        assert!(references(&list, "a"));
        assert!(!references(&list, "b"));
        assert!(!references(&CqlType::Native(NativeType::Int), "a"));
    }
}
