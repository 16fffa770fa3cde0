//! Fuzz target: arbitrary bytes from the network through the frame decoder, in arbitrary chunkings.
//! Decoding must never panic, and must never hold more than the maximum frame length.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use shoko_proto::MessageCodec;
use tokio_util::codec::Decoder;

const MAX_FRAME: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, so partial frames are exercised too.
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut codec = MessageCodec::new(MAX_FRAME);
    let mut buf = BytesMut::new();
    for piece in rest.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(msg)) => {
                    // Whatever decodes must encode again.
                    let _ = shoko_proto::codec::encode_message(&msg);
                }
                Ok(None) => break,
                Err(_) => return, // the collector closes the session here
            }
        }
        assert!(buf.capacity() <= 2 * MAX_FRAME + 8 + rest.len());
    }
    let _ = shoko_proto::codec::decode_message(rest);
});
