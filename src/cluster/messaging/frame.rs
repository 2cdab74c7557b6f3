//! The internode wire format, sans-IO: handshake messages and the fixed message header.
//!
//! Every frame is one `LengthDelimitedCodec` frame (4-byte big-endian length). The first
//! frame each way on a connection is the handshake (`Hello`, answered by `HelloReply`),
//! postcard-encoded; every later frame is a `Header` (27 bytes, big-endian) followed by
//! the payload bytes. The header is fixed-width and read before the payload so a receiver
//! drops an expired request without decoding its payload, as Cassandra does. TCP's
//! checksum covers the bytes; there is no frame CRC of our own.

use std::net::SocketAddr;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Identifies a Strata internode connection ("STRA").
pub const MAGIC: u32 = 0x5354_5241;
/// Messaging versions this build speaks; peers use the highest both support.
pub const MIN_VERSION: u16 = 1;
pub const MAX_VERSION: u16 = 1;
pub const HEADER_LEN: usize = 27;
/// `LengthDelimitedCodec`'s default length field: 4 bytes, big-endian, the frame's length
/// without the field itself.
pub const LENGTH_LEN: usize = 4;

/// Which of the three connections per peer a message travels on (Cassandra's urgent,
/// small and large links), so a large payload never queues a heartbeat behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Link {
    Urgent,
    Small,
    Large,
}

/// First frame of a connection, from the connecting side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub magic: u32,
    pub min_version: u16,
    pub max_version: u16,
    pub cluster_name: String,
    pub host_id: Uuid,
    /// The sender's own internode address (its `listen_address:storage_port`).
    pub listen: SocketAddr,
    pub link: Link,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HelloReply {
    Accept { version: u16, host_id: Uuid },
    Reject { reason: String },
}

impl Hello {
    /// The accepting side's answer: the negotiated version, or why the peer is refused.
    pub fn answer(&self, cluster_name: &str, host_id: Uuid) -> HelloReply {
        if self.magic != MAGIC {
            return HelloReply::Reject {
                reason: "not a Strata internode connection".into(),
            };
        }
        if self.cluster_name != cluster_name {
            return HelloReply::Reject {
                reason: format!(
                    "ClusterName mismatch: {} != {}",
                    self.cluster_name, cluster_name
                ),
            };
        }
        let version = self.max_version.min(MAX_VERSION);
        if version < self.min_version.max(MIN_VERSION) {
            return HelloReply::Reject {
                reason: format!(
                    "no common messaging version: peer speaks {}..={}, this node {MIN_VERSION}..={MAX_VERSION}",
                    self.min_version, self.max_version
                ),
            };
        }
        HelloReply::Accept { version, host_id }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Request = 1,
    Response = 2,
    /// A response whose payload is the remote error's message (UTF-8).
    Failure = 3,
    OneWay = 4,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    /// Request id; a response carries its request's.
    pub id: u64,
    pub verb: u16,
    /// The sender's cluster-metadata epoch.
    pub epoch: u64,
    /// Unix milliseconds after which a request is dropped unanswered (0: never).
    pub expires_at_ms: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame of {0} bytes is shorter than a message header")]
    Short(usize),
    #[error("unknown message kind {0}")]
    Kind(u8),
    #[error("undecodable handshake: {0}")]
    Handshake(String),
}

impl Header {
    /// Appends one whole frame (the `LengthDelimitedCodec` length, this header, `payload`)
    /// to `out`, where the frames of one socket write are gathered: the payload is copied
    /// once, into the write buffer. The caller has checked the size against the limit.
    pub fn put_frame(&self, payload: &[u8], out: &mut BytesMut) {
        let len = HEADER_LEN + payload.len();
        out.reserve(LENGTH_LEN + len);
        // Within `u32` since frames are limited to `max_message_bytes` (at most 256 MiB).
        out.put_u32(len as u32);
        out.put_u8(self.kind as u8);
        out.put_u64(self.id);
        out.put_u16(self.verb);
        out.put_u64(self.epoch);
        out.put_u64(self.expires_at_ms);
        out.put_slice(payload);
    }

    /// Splits a frame into its header and payload.
    pub fn decode(mut frame: Bytes) -> Result<(Header, Bytes), FrameError> {
        if frame.len() < HEADER_LEN {
            return Err(FrameError::Short(frame.len()));
        }
        let kind = match frame.get_u8() {
            1 => Kind::Request,
            2 => Kind::Response,
            3 => Kind::Failure,
            4 => Kind::OneWay,
            other => return Err(FrameError::Kind(other)),
        };
        let header = Header {
            kind,
            id: frame.get_u64(),
            verb: frame.get_u16(),
            epoch: frame.get_u64(),
            expires_at_ms: frame.get_u64(),
        };
        Ok((header, frame))
    }

    pub fn expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms != 0 && now_ms > self.expires_at_ms
    }
}

/// Serializes a message. Writing to memory fails only for a `Serialize` impl that cannot
/// give a sequence's length up front, which no derived message type here is.
#[allow(clippy::expect_used)]
pub fn encode<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(postcard::to_stdvec(value).expect("in-memory serialization cannot fail"))
}

pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, FrameError> {
    postcard::from_bytes(bytes).map_err(|e| FrameError::Handshake(e.to_string()))
}

#[cfg(test)]
mod tests {
    use tokio_util::codec::Decoder;

    use super::*;

    fn hello() -> Hello {
        Hello {
            magic: MAGIC,
            min_version: MIN_VERSION,
            max_version: MAX_VERSION,
            cluster_name: "Test Cluster".into(),
            host_id: Uuid::from_u128(7),
            listen: "127.0.0.2:7000".parse().unwrap(),
            link: Link::Small,
        }
    }

    #[test]
    fn header_round_trips_and_rejects_garbage() {
        let header = Header {
            kind: Kind::Request,
            id: 42,
            verb: 3,
            epoch: 9,
            expires_at_ms: 1_700_000_000_000,
        };
        // Two frames in one buffer, as a socket write gathers them, read back by the codec
        // the receiver uses.
        let mut out = BytesMut::new();
        header.put_frame(b"payload", &mut out);
        header.put_frame(b"", &mut out);
        assert_eq!(out.len(), 2 * (LENGTH_LEN + HEADER_LEN) + 7);
        let mut codec = tokio_util::codec::LengthDelimitedCodec::new();
        let first = codec.decode(&mut out).unwrap().unwrap().freeze();
        assert_eq!(
            Header::decode(first),
            Ok((header, Bytes::from_static(b"payload")))
        );
        let second = codec.decode(&mut out).unwrap().unwrap().freeze();
        assert_eq!(Header::decode(second), Ok((header, Bytes::new())));
        assert!(out.is_empty());
        assert_eq!(
            Header::decode(Bytes::from_static(b"short")),
            Err(FrameError::Short(5))
        );
        let mut bad = BytesMut::new();
        header.put_frame(b"", &mut bad);
        let mut bad = bad.split_off(LENGTH_LEN);
        bad[0] = 99;
        assert_eq!(Header::decode(bad.freeze()), Err(FrameError::Kind(99)));
        assert!(header.expired(1_700_000_000_001));
        assert!(!Header {
            expires_at_ms: 0,
            ..header
        }
        .expired(u64::MAX));
    }

    #[test]
    fn handshake_checks_cluster_name_and_version() {
        let id = Uuid::from_u128(1);
        let round_trip: Hello = decode(&encode(&hello())).unwrap();
        assert_eq!(round_trip, hello());
        assert_eq!(
            hello().answer("Test Cluster", id),
            HelloReply::Accept {
                version: MAX_VERSION,
                host_id: id
            }
        );
        assert_eq!(
            hello().answer("Other", id),
            HelloReply::Reject {
                reason: "ClusterName mismatch: Test Cluster != Other".into()
            }
        );
        let future = Hello {
            min_version: MAX_VERSION + 1,
            max_version: MAX_VERSION + 2,
            ..hello()
        };
        assert!(matches!(
            future.answer("Test Cluster", id),
            HelloReply::Reject { .. }
        ));
        assert!(decode::<Hello>(b"\xff\xff").is_err());
    }
}
