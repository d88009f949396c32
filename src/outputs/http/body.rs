//! Response bodies streamed from shared bytes.
//!
//! A [`SharedBody`] hands hyper zero-copy slices ([`Bytes::slice`]) of one
//! buffer, at most [`CHUNK`] bytes at a time. hyper asks for the next slice only when
//! its write queue has room, so a connection whose client does not read holds
//! a reference to the shared buffer (plus at most one slice queued), never a
//! copy: N slow readers of a cached exposition cost N small structs, not N
//! expositions.
//!
//! A body may carry a deadline: once it has passed, the next frame is an error
//! and hyper closes the connection (the whole-response write timeout; a socket
//! that accepts no byte at all is handled by [`super::conn`]'s write-stall
//! timeout, since then the body is not polled).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use hyper::body::{Body, Bytes, Frame, SizeHint};

/// Largest slice handed to hyper per frame (bytes). A slice is a view of the
/// shared buffer (no copy), so its size costs no memory; larger slices mean
/// fewer write system calls (the kernel takes what fits in the socket buffer and
/// hyper keeps the rest of the slice).
pub const CHUNK: usize = 1024 * 1024;

/// A body over shared bytes, streamed in [`CHUNK`]-sized slices.
#[derive(Debug, Clone)]
pub struct SharedBody {
    bytes: Bytes,
    pos: usize,
    deadline: Option<Instant>,
}

impl SharedBody {
    /// A body over `bytes` (no copy).
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        SharedBody {
            bytes: bytes.into(),
            pos: 0,
            deadline: None,
        }
    }

    /// Fail the body (and so the connection) if it is still being written at `at`.
    pub fn with_deadline(mut self, at: Instant) -> Self {
        self.deadline = Some(at);
        self
    }

    /// The whole underlying buffer (tests, `HEAD`).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl Body for SharedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let len = this.bytes.len();
        if this.pos >= len {
            return Poll::Ready(None);
        }
        if this.deadline.is_some_and(|d| Instant::now() >= d) {
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "response write timeout",
            ))));
        }
        let end = len.min(this.pos.saturating_add(CHUNK));
        let frame = this.bytes.slice(this.pos..end);
        this.pos = end;
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.bytes.len().saturating_sub(self.pos) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::time::Duration;

    #[tokio::test]
    async fn streams_zero_copy_slices_in_bounded_chunks() {
        let data: Vec<u8> = (0..(CHUNK * 3 + 17)).map(|i| (i % 251) as u8).collect();
        let shared = Bytes::from(data.clone());
        let mut body = SharedBody::new(shared.clone());
        assert_eq!(body.size_hint().exact(), Some(data.len() as u64));
        let mut got = Vec::new();
        let mut frames = 0;
        while let Some(f) = body.frame().await {
            let d = f.unwrap().into_data().unwrap();
            assert!(d.len() <= CHUNK);
            // A slice of the shared buffer, not a copy.
            let off = d.as_ptr() as usize - shared.as_ptr() as usize;
            assert!(off + d.len() <= shared.len());
            got.extend_from_slice(&d);
            frames += 1;
        }
        assert_eq!(frames, 4);
        assert_eq!(got, data);
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn a_passed_deadline_fails_the_body() {
        let past = Instant::now() - Duration::from_secs(1);
        let mut body = SharedBody::new(vec![1u8; 10]).with_deadline(past);
        assert!(body.frame().await.unwrap().is_err());
        // An empty body has nothing left to fail.
        let mut empty = SharedBody::new(Vec::new()).with_deadline(past);
        assert!(empty.frame().await.is_none());
    }
}
