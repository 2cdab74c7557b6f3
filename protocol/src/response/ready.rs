//! READY: an empty body, the answer to STARTUP (without authentication) and to REGISTER.
//! Nothing to encode; the decoder refuses a non-empty body through its trailing-bytes check.
