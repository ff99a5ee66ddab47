//! What waits between the engine task and the connections, and what it
//! costs: each connection's outbound queue ([`Outbox`] and [`OutboundRx`])
//! and the bytes buffered for all of them ([`Buffered`]), which count in
//! the memory budget.

use futures_util::task::AtomicWaker;
use queue_core::protocol::{ClientFrame, ServerFrame};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use tokio::sync::Notify;

/// What the engine task sends to a connection's writer.
#[derive(Debug)]
pub enum Outbound {
    /// Frames to write, in order, and their cost (give it back with
    /// [`Outbox::taken`] once they are out of the queue).
    Frames(Vec<ServerFrame>, usize),
    /// A WebSocket ping (keep-alive).
    Ping,
    /// Close the connection with this code and reason.
    Close(u16, String),
}

/// Bytes the broker holds for connections outside the engine: frames read
/// and not yet handled, frames waiting to be written. Shared by every
/// connection; the engine task reports it to the engine
/// ([`Input::Buffered`]), where it counts against the memory budget.
#[derive(Debug, Clone, Default)]
pub struct Buffered(Arc<[AtomicUsize; 2]>);

impl Buffered {
    /// Counts `bytes` more of frames read and on their way to the engine.
    pub fn add_inbound(&self, bytes: usize) {
        self.add(bytes);
        self.0[1].fetch_add(bytes, Ordering::Relaxed);
    }

    /// The engine took inbound frames costing `bytes`.
    pub fn sub_inbound(&self, bytes: usize) {
        self.sub(bytes);
        self.0[1].fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes of frames read and not yet taken by the engine.
    pub fn inbound(&self) -> usize {
        self.0[1].load(Ordering::Relaxed)
    }

    /// Counts `bytes` more.
    pub fn add(&self, bytes: usize) {
        self.0[0].fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `bytes` less.
    pub fn sub(&self, bytes: usize) {
        self.0[0].fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes counted now.
    pub fn get(&self) -> usize {
        self.0[0].load(Ordering::Relaxed)
    }
}

/// A connection's outbound queue: what the engine task sends, waiting for
/// the connection's writer. One small allocation per connection, and none
/// for the queue while it is empty (an idle connection costs little).
#[derive(Debug, Default)]
struct Mailbox {
    queue: Mutex<VecDeque<Outbound>>,
    /// Wakes the writer: a send, an end, or the last sender gone. (One
    /// writer, so one waker, kept here: a `Notify`'s wait would be 64
    /// bytes of every idle connection's task.)
    wake: AtomicWaker,
    /// Bytes queued and not yet taken by the writer.
    pending: AtomicUsize,
    /// Live [`Outbox`]es.
    senders: AtomicUsize,
    /// The writer's [`OutboundRx`] is gone: sends are refused.
    closed: AtomicBool,
    /// How the connection was ended from outside: [`OPEN`] (not), [`CUT`]
    /// by the broker, or [`KICKED`] by a successor.
    end: AtomicU8,
    /// The connection left after it was kicked ([`Kicker::leave`]).
    gone: AtomicBool,
    /// Wakes every task waiting in [`Outbox::cut_off`] or [`Kicker::gone`].
    end_wake: Notify,
}

/// [`Mailbox::end`]: still open.
const OPEN: u8 = 0;
/// [`Mailbox::end`]: cut as a slow consumer.
const CUT: u8 = 1;
/// [`Mailbox::end`]: another connection took the session over.
const KICKED: u8 = 2;

impl Mailbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Outbound>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends the connection `how` (the first end wins), waking its writer
    /// and every task waiting for the end.
    fn end(&self, how: u8) {
        let _ = self.end.compare_exchange(OPEN, how, Ordering::AcqRel, Ordering::Acquire);
        self.end_wake.notify_waiters();
        self.wake.wake();
    }

    /// Resolves once `done` holds, checked whenever the end or the leaving changes.
    async fn wait_until(&self, done: impl Fn(&Self) -> bool) {
        loop {
            let notified = self.end_wake.notified();
            tokio::pin!(notified);
            // Registered before the check: a change between the two still wakes it.
            notified.as_mut().enable();
            if done(self) {
                return;
            }
            notified.await;
        }
    }
}

/// The sending half of a connection's outbound queue, with its backlog in bytes.
#[derive(Debug)]
pub struct Outbox {
    mailbox: Arc<Mailbox>,
    /// Every connection's buffered bytes.
    buffered: Buffered,
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.mailbox.senders.fetch_add(1, Ordering::Relaxed);
        Self { mailbox: self.mailbox.clone(), buffered: self.buffered.clone() }
    }
}

impl Outbox {
    /// Cuts the connection (a slow consumer): every task waiting in
    /// [`Outbox::cut_off`] wakes, ends at once whatever it was doing, and
    /// drops the backlog; the writer's [`OutboundRx::recv`] ends. (Flags
    /// and a `Notify` in the mailbox rather than `CancellationToken`s: each
    /// is one more allocation of ~110 bytes on every idle connection.)
    pub fn cut(&self) {
        self.mailbox.end(CUT);
    }

    /// A handle with which another connection can end this one and learn
    /// when it has left (an MQTT session taken over).
    pub fn kicker(&self) -> Kicker {
        Kicker(self.mailbox.clone())
    }
}

/// Ends a connection for a successor ([`Kicker::kick`]), and tells the
/// successor when it has left ([`Kicker::leave`], [`Kicker::gone`]).
#[derive(Debug, Clone)]
pub struct Kicker(Arc<Mailbox>);

impl Kicker {
    /// Asks the connection to leave: its writer's [`OutboundRx::recv`]
    /// ends (after any write under way), and [`OutboundRx::kicked`] says why.
    pub fn kick(&self) {
        self.0.end(KICKED);
    }

    /// The connection has left: whoever waits in [`Kicker::gone`] goes on.
    pub fn leave(&self) {
        self.0.gone.store(true, Ordering::Release);
        self.0.end_wake.notify_waiters();
    }

    /// Resolves once the connection has left.
    pub async fn gone(&self) {
        self.0.wait_until(|m| m.gone.load(Ordering::Acquire)).await;
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        if self.mailbox.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last sender: the writer sees the end once the queue is empty.
            self.mailbox.wake.wake();
        }
    }
}

/// The receiving half of an [`Outbox`]. Dropping it gives back whatever
/// its queue still held, so a closed connection leaves nothing counted.
#[derive(Debug)]
pub struct OutboundRx {
    mailbox: Arc<Mailbox>,
    buffered: Buffered,
}

impl OutboundRx {
    /// The next item; `None` once the connection was cut or kicked, or
    /// every sender is gone and the queue is empty.
    pub async fn recv(&self) -> Option<Outbound> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`Self::recv`], polled.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Outbound>> {
        if let Some(ready) = self.ready() {
            return Poll::Ready(ready);
        }
        // Registered before the second look: a send between the two wakes it.
        self.mailbox.wake.register(cx.waker());
        self.ready().map_or(Poll::Pending, Poll::Ready)
    }

    /// What [`Self::recv`] returns now, if it need not wait.
    fn ready(&self) -> Option<Option<Outbound>> {
        if self.mailbox.end.load(Ordering::Acquire) != OPEN {
            return Some(None);
        }
        if let Some(item) = self.mailbox.lock().pop_front() {
            return Some(Some(item));
        }
        (self.mailbox.senders.load(Ordering::Acquire) == 0).then_some(None)
    }

    /// Whether another connection took the session over ([`Kicker::kick`]).
    pub fn kicked(&self) -> bool {
        self.mailbox.end.load(Ordering::Acquire) == KICKED
    }

    /// Whether the broker cut the connection ([`Outbox::cut`]: a slow consumer).
    pub fn cut(&self) -> bool {
        self.mailbox.end.load(Ordering::Acquire) == CUT
    }

    /// Resolves once the connection is cut ([`Outbox::cut`]).
    pub async fn cut_off(&self) {
        self.mailbox.wait_until(|m| m.end.load(Ordering::Acquire) == CUT).await;
    }

    /// The writer took frames costing `bytes` out of the queue.
    pub fn taken(&self, bytes: usize) {
        self.mailbox.pending.fetch_sub(bytes, Ordering::Relaxed);
        self.buffered.sub(bytes);
    }

    /// Whether nothing is waiting now.
    pub fn is_empty(&self) -> bool {
        self.mailbox.lock().is_empty()
    }

    /// Gives back the queue's room if nothing waits (an idle connection's
    /// queue keeps the capacity of its busiest moment otherwise).
    pub fn shrink(&self) {
        let mut queue = self.mailbox.lock();
        if queue.is_empty() {
            *queue = VecDeque::new();
        }
    }
}

impl Drop for OutboundRx {
    fn drop(&mut self) {
        self.mailbox.closed.store(true, Ordering::Release);
        let left = std::mem::take(&mut *self.mailbox.lock());
        for item in left {
            if let Outbound::Frames(_, bytes) = item {
                self.mailbox.pending.fetch_sub(bytes, Ordering::Relaxed);
                self.buffered.sub(bytes);
            }
        }
    }
}

impl Outbox {
    /// A new outbox counting into `buffered`, and the receiver its writer drains.
    pub fn new(buffered: &Buffered) -> (Self, OutboundRx) {
        let mailbox = Arc::new(Mailbox { senders: AtomicUsize::new(1), ..Mailbox::default() });
        let outbox = Self { mailbox: mailbox.clone(), buffered: buffered.clone() };
        (outbox, OutboundRx { mailbox, buffered: buffered.clone() })
    }

    /// Queues an item for the writer; false if the writer is gone.
    pub fn send(&self, item: Outbound) -> bool {
        if self.mailbox.closed.load(Ordering::Acquire) {
            return false;
        }
        self.mailbox.lock().push_back(item);
        self.mailbox.wake.wake();
        true
    }

    /// Queues frames; returns the bytes its writer had not yet taken from
    /// earlier sends (what it is behind by, this batch aside).
    pub fn send_frames(&self, frames: Vec<ServerFrame>) -> usize {
        let bytes: usize = frames.iter().map(outbound_cost).sum();
        let backlog = self.mailbox.pending.fetch_add(bytes, Ordering::Relaxed);
        self.buffered.add(bytes);
        if !self.send(Outbound::Frames(frames, bytes)) {
            // Not queued: counted back out.
            self.mailbox.pending.fetch_sub(bytes, Ordering::Relaxed);
            self.buffered.sub(bytes);
        }
        backlog
    }

    /// Bytes waiting for this connection's writer.
    pub fn backlog(&self) -> usize {
        self.mailbox.pending.load(Ordering::Relaxed)
    }
}

/// About what a frame for a client costs while it waits in a queue: its
/// payload, topic and headers, and a fixed share for the rest.
pub fn outbound_cost(frame: &ServerFrame) -> usize {
    const FIXED: usize = 128;
    match frame {
        ServerFrame::Deliver(d) => FIXED + d.payload.len() + d.topic.len() + headers_cost(&d.headers),
        ServerFrame::Stats { stats, .. } => FIXED + 512 * stats.queues.len(),
        ServerFrame::Error { message, .. } | ServerFrame::Cancelled { reason: message, .. } => FIXED + message.len(),
        _ => FIXED,
    }
}

/// About what a frame from a client costs until the engine has it.
pub fn inbound_cost(frame: &ClientFrame) -> usize {
    const FIXED: usize = 128;
    match frame {
        ClientFrame::Publish { topic, queue, payload, headers, .. } => {
            let target = topic.as_deref().or(queue.as_deref()).map_or(0, str::len);
            FIXED + payload.len() + target + headers_cost(headers)
        }
        ClientFrame::Bind { filter, .. } | ClientFrame::Unbind { filter, .. } => FIXED + filter.len(),
        _ => FIXED,
    }
}

fn headers_cost(headers: &queue_core::message::Headers) -> usize {
    headers.iter().map(|(k, v)| k.len() + v.len() + 48).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_cut_wakes_every_waiter_and_later_ones_return_at_once() {
        let buffered = Buffered::default();
        let (outbox, rx) = Outbox::new(&buffered);
        let rx = Arc::new(rx);
        let (reader, writer) = (rx.clone(), rx.clone());
        let waiting = tokio::spawn(async move { tokio::join!(reader.cut_off(), writer.cut_off(), reader.recv()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "nothing was cut yet");
        outbox.cut();
        let (_, _, item) =
            tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("all woke").expect("no panic");
        assert!(item.is_none(), "a cut ends the writer's recv");
        tokio::time::timeout(Duration::from_secs(5), rx.cut_off()).await.expect("a later wait returns at once");
    }
}
