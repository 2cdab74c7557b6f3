//! Versioned dictionary storage engine.
