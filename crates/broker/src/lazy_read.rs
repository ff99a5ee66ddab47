//! A socket whose read buffer exists only while bytes arrive.
//!
//! tungstenite reads a WebSocket through a buffer it keeps for the
//! connection's life, and reads at most that buffer's size per call. A
//! large one makes every idle connection pay for it; a small one costs a
//! system call per few hundred bytes. [`LazyRead`] sits between: reads of
//! at least [`CHUNK`] go straight to the socket (hyper's own buffer), small
//! ones are served from a [`CHUNK`]-byte buffer filled by one system call
//! and given back as soon as the socket has nothing more to give. So a
//! small tungstenite buffer costs copies, not system calls, and an idle
//! connection holds no read buffer at all.

use bytes::{Buf, BytesMut};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes one read from the socket asks for.
pub const CHUNK: usize = 4096;

/// `S`, read through a buffer allocated when needed and released when idle.
#[derive(Debug)]
pub struct LazyRead<S> {
    inner: S,
    /// Read from the socket and not yet passed on.
    buf: BytesMut,
}

impl<S> LazyRead<S> {
    /// Reads `inner` through a buffer of its own (none yet).
    pub fn new(inner: S) -> Self {
        Self { inner, buf: BytesMut::new() }
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Bytes of read buffer held now.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for LazyRead<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.buf.is_empty() {
            if out.remaining() >= CHUNK {
                return Pin::new(&mut this.inner).poll_read(cx, out);
            }
            this.buf.reserve(CHUNK);
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.inner), cx, &mut this.buf) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(err)) => {
                    this.buf = BytesMut::new();
                    return Poll::Ready(Err(err));
                }
                Poll::Pending => {
                    // Nothing more for now: the buffer goes until bytes come.
                    this.buf = BytesMut::new();
                    return Poll::Pending;
                }
            }
        }
        let n = this.buf.len().min(out.remaining());
        out.put_slice(&this.buf[..n]);
        this.buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LazyRead<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, bytes)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_come_from_one_buffer_given_back_when_idle() {
        let (mut peer, socket) = tokio::io::duplex(64 * 1024);
        let mut lazy = LazyRead::new(socket);
        assert_eq!(lazy.buffer_capacity(), 0, "nothing held before bytes come");
        let sent: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        peer.write_all(&sent).await.expect("the pipe takes it");
        let mut got = Vec::new();
        let mut small = [0u8; 100];
        while got.len() < sent.len() {
            let n = lazy.read(&mut small).await.expect("bytes are there");
            got.extend_from_slice(&small[..n]);
            assert!(lazy.buffer_capacity() <= 2 * CHUNK, "one chunk at a time");
        }
        assert_eq!(got, sent, "every byte, in order");
        // The socket has nothing more: the next read waits, and the buffer goes.
        let mut one = [0u8; 1];
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), lazy.read(&mut one)).await;
        assert!(waiting.is_err(), "nothing to read");
        assert_eq!(lazy.buffer_capacity(), 0, "the buffer is given back while idle");
    }

    #[tokio::test]
    async fn large_reads_bypass_the_buffer_and_eof_is_passed_on() {
        let (mut peer, socket) = tokio::io::duplex(64 * 1024);
        let mut lazy = LazyRead::new(socket);
        peer.write_all(&[7u8; 6000]).await.expect("the pipe takes it");
        drop(peer);
        let mut big = vec![0u8; 8192];
        let n = lazy.read(&mut big).await.expect("bytes are there");
        assert_eq!(n, 6000);
        assert_eq!(lazy.buffer_capacity(), 0, "read straight into the caller's buffer");
        assert_eq!(lazy.read(&mut big).await.expect("end of stream"), 0, "end of stream");
        let mut small = [0u8; 10];
        assert_eq!(lazy.read(&mut small).await.expect("end of stream"), 0, "end of stream, small read too");
    }
}
