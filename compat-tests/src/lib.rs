//! Black-box compat tests live in tests/.
