//! Holding back a blocked connection's publishes.
//!
//! When the engine's memory budget blocks publishers, each connection task
//! passes the frames it reads through its [`Gate`]: publishes, and every
//! frame after one (so the connection's order holds), wait in the gate;
//! acks, nacks and pings go on at once, so a connection that also consumes
//! still drains its queues. Once the gate holds [`HOLD_BYTES`], the task
//! stops reading its socket (TCP back-pressure) until the broker unblocks,
//! when the held frames go to the engine in order.

use crate::driver::{Buffered, inbound_cost};
use queue_core::protocol::ClientFrame;
use tokio::sync::watch;

/// Bytes of frames a blocked connection may hold before it is no longer read.
pub const HOLD_BYTES: usize = 64 * 1024;

/// One connection's gate (see the module documentation).
#[derive(Debug)]
pub struct Gate {
    blocked: watch::Receiver<bool>,
    /// Boxed, and only while frames are held: every connection has a gate,
    /// few ever hold anything.
    held: Option<Box<Held>>,
    buffered: Buffered,
}

/// The frames a gate holds, in order, and their cost in bytes.
#[derive(Debug, Default)]
struct Held {
    frames: Vec<ClientFrame>,
    bytes: usize,
}

impl Gate {
    /// A gate following the broker's `blocked` state; held bytes count in `buffered`.
    pub fn new(blocked: watch::Receiver<bool>, buffered: Buffered) -> Self {
        Self { blocked, held: None, buffered }
    }

    /// Sorts frames read from the peer: those to hand to the engine now go
    /// to `now`; while the broker is blocked, publishes and what follows
    /// them are held.
    pub fn admit(&mut self, frames: impl IntoIterator<Item = ClientFrame>, now: &mut Vec<ClientFrame>) {
        let blocked = *self.blocked.borrow();
        for frame in frames {
            let overtakes =
                matches!(frame, ClientFrame::Ack { .. } | ClientFrame::Nack { .. } | ClientFrame::Ping { .. });
            let holds = (blocked && matches!(frame, ClientFrame::Publish { .. })) || self.holding();
            if holds && !overtakes {
                let bytes = inbound_cost(&frame);
                self.buffered.add(bytes);
                let held = self.held.get_or_insert_default();
                held.bytes += bytes;
                held.frames.push(frame);
            } else {
                now.push(frame);
            }
        }
    }

    /// Whether the connection's socket may be read: not while the gate is full.
    pub fn reading(&self) -> bool {
        self.held.as_ref().is_none_or(|held| held.bytes < HOLD_BYTES)
    }

    /// Whether frames are held.
    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// Waits until the broker unblocks publishers (pending while it is not
    /// blocked or holds nothing; cancel-safe). The wait itself is boxed,
    /// and only made while frames are held: every idle connection's task
    /// carries this future, and the watch's wait is 160 bytes.
    pub async fn unblocked(&mut self) {
        if !self.holding() {
            return std::future::pending().await;
        }
        let wait = Box::pin(self.blocked.wait_for(|blocked| !*blocked));
        if wait.await.is_err() {
            // The broker is gone; whatever waits for it ends on its own.
            std::future::pending::<()>().await;
        }
    }

    /// Takes every held frame, in order (after [`Self::unblocked`], or
    /// when the connection ends: what it sent before it went is handled).
    pub fn release(&mut self) -> Vec<ClientFrame> {
        let Some(held) = self.held.take() else { return Vec::new() };
        self.buffered.sub(held.bytes);
        held.frames
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(held) = &self.held {
            self.buffered.sub(held.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue_core::protocol::AckMode;

    fn publish(n: u8) -> ClientFrame {
        ClientFrame::Publish {
            id: Some(u64::from(n)),
            topic: Some("t".into()),
            queue: None,
            payload: vec![n; 1000].into(),
            headers: Default::default(),
            retain: false,
            ttl_ms: None,
        }
    }

    #[test]
    fn while_blocked_publishes_wait_acks_overtake_and_order_holds() {
        let (tx, rx) = watch::channel(false);
        let buffered = Buffered::default();
        let mut gate = Gate::new(rx, buffered.clone());
        let mut now = Vec::new();
        gate.admit([publish(1)], &mut now);
        assert_eq!(now.len(), 1, "not blocked: through");
        tx.send_replace(true);
        now.clear();
        let subscribe = ClientFrame::Subscribe {
            id: 9,
            queue: Some("q".into()),
            topic: None,
            prefetch: None,
            ack: AckMode::Manual,
        };
        let ack = ClientFrame::Ack { tag: 3, multiple: false };
        gate.admit([ack.clone(), publish(2), subscribe.clone(), ack.clone(), publish(3)], &mut now);
        assert_eq!(now, [ack.clone(), ack], "acks go on, before and after held frames");
        assert!(gate.holding() && gate.reading());
        assert!(buffered.get() > 2000, "held frames count in the budget");
        assert_eq!(gate.release(), [publish(2), subscribe, publish(3)], "held in order");
        assert_eq!(buffered.get(), 0);
    }

    #[test]
    fn a_full_gate_stops_reading() {
        let (_tx, rx) = watch::channel(true);
        let mut gate = Gate::new(rx, Buffered::default());
        let mut now = Vec::new();
        while gate.reading() {
            gate.admit([publish(1)], &mut now);
        }
        assert!(now.is_empty());
        assert!(gate.release().len() >= HOLD_BYTES / 1200);
        assert!(gate.reading());
    }
}
