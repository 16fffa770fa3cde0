//! Framing: each message is a 4-byte big-endian length followed by that many bytes of MessagePack
//! (named fields), with a maximum frame length enforced before any allocation of the frame.

use crate::message::Message;
use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

/// Why a frame could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The length prefix announces more than the maximum frame length.
    #[error("frame of {announced} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// Length announced by the prefix (or of the message being encoded).
        announced: u64,
        /// The configured maximum.
        max: usize,
    },
    /// The frame's bytes are not a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The underlying transport failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Tokio codec turning frames into [`Message`]s and back.
#[derive(Debug)]
pub struct MessageCodec {
    inner: LengthDelimitedCodec,
    max_frame_len: usize,
    /// True once `inner` has consumed a length prefix and waits for the body.
    in_body: bool,
}

impl MessageCodec {
    /// A codec refusing frames longer than `max_frame_len` bytes.
    pub fn new(max_frame_len: usize) -> Self {
        let inner = LengthDelimitedCodec::builder()
            .length_field_length(4)
            .big_endian()
            .max_frame_length(max_frame_len)
            .new_codec();
        MessageCodec {
            inner,
            max_frame_len,
            in_body: false,
        }
    }

    /// The maximum frame length.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }
}

impl Default for MessageCodec {
    fn default() -> Self {
        MessageCodec::new(crate::DEFAULT_MAX_FRAME_LEN)
    }
}

/// Encodes a message body (without length prefix) as MessagePack with named fields.
pub fn encode_message(msg: &Message) -> Result<Vec<u8>, CodecError> {
    rmp_serde::to_vec_named(msg).map_err(|e| CodecError::Malformed(e.to_string()))
}

/// Decodes a message body (without length prefix).
pub fn decode_message(body: &[u8]) -> Result<Message, CodecError> {
    rmp_serde::from_slice(body).map_err(|e| CodecError::Malformed(e.to_string()))
}

/// A message body encoded once and possibly sent several times (a batch re-sent after a lost ack
/// goes out byte for byte the same).
#[derive(Debug, Clone)]
pub struct EncodedMessage(pub bytes::Bytes);

impl EncodedMessage {
    /// Encodes `msg`.
    pub fn new(msg: &Message) -> Result<Self, CodecError> {
        encode_message(msg).map(|v| EncodedMessage(v.into()))
    }

    /// Length of the body in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty body (never produced by [`EncodedMessage::new`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Encoder<&EncodedMessage> for MessageCodec {
    type Error = CodecError;

    fn encode(&mut self, msg: &EncodedMessage, dst: &mut BytesMut) -> Result<(), CodecError> {
        if msg.len() > self.max_frame_len {
            return Err(CodecError::FrameTooLarge {
                announced: msg.len() as u64,
                max: self.max_frame_len,
            });
        }
        self.inner.encode(msg.0.clone(), dst)?;
        Ok(())
    }
}

impl Decoder for MessageCodec {
    type Item = Message;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, CodecError> {
        // Check the announced length ourselves so the error says how large the frame was.
        let at_head = !self.in_body && src.len() >= 4;
        if at_head {
            let announced = u64::from(u32::from_be_bytes([src[0], src[1], src[2], src[3]]));
            if announced > self.max_frame_len as u64 {
                return Err(CodecError::FrameTooLarge {
                    announced,
                    max: self.max_frame_len,
                });
            }
        }
        match self.inner.decode(src)? {
            None => {
                // The inner codec consumes a complete prefix even when the body is not there yet.
                self.in_body |= at_head;
                Ok(None)
            }
            Some(frame) => {
                self.in_body = false;
                decode_message(frame.chunk()).map(Some)
            }
        }
    }
}

impl Encoder<&Message> for MessageCodec {
    type Error = CodecError;

    fn encode(&mut self, msg: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.encode(&EncodedMessage::new(msg)?, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Message {
        Message::Hello {
            agent_id: "a1".into(),
            agent_version: "0.1.0".into(),
            protocol_versions: vec![1],
            agent_time: None,
        }
    }

    #[test]
    fn round_trips_in_pieces() {
        let mut codec = MessageCodec::new(1024);
        let mut buf = BytesMut::new();
        codec.encode(&hello(), &mut buf).unwrap();
        codec.encode(&hello(), &mut buf).unwrap();
        let bytes = buf.split().freeze();
        let mut got = Vec::new();
        let mut inbuf = BytesMut::new();
        for b in bytes.iter() {
            inbuf.extend_from_slice(&[*b]);
            while let Some(m) = codec.decode(&mut inbuf).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, vec![hello(), hello()]);
    }

    #[test]
    fn refuses_oversized_before_reading_it() {
        let mut codec = MessageCodec::new(1024);
        let mut buf = BytesMut::from(&[0x00, 0x00, 0x04, 0x01][..]);
        match codec.decode(&mut buf) {
            Err(CodecError::FrameTooLarge { announced, max }) => {
                assert_eq!((announced, max), (1025, 1024))
            }
            other => panic!("expected FrameTooLarge, got {other:?}"),
        }
        assert!(buf.capacity() < 1025, "must not reserve the announced length");
    }

    #[test]
    fn refuses_garbage() {
        let mut codec = MessageCodec::new(1024);
        let mut buf = BytesMut::from(&[0, 0, 0, 3, 0xc1, 0xc1, 0xc1][..]);
        assert!(matches!(codec.decode(&mut buf), Err(CodecError::Malformed(_))));
    }

    #[test]
    fn refuses_encoding_oversized() {
        let mut codec = MessageCodec::new(8);
        let mut buf = BytesMut::new();
        assert!(matches!(
            codec.encode(&hello(), &mut buf),
            Err(CodecError::FrameTooLarge { .. })
        ));
    }
}
