//! OPTIONS: an empty body, answered with SUPPORTED. Drivers also use it as an idle heartbeat.
//! Nothing to decode: the caller refuses trailing bytes, so a non-empty body is an error.
