pub mod cql;
