//! Timers: TTL expiry, unused-queue expiry, keep-alive, stats streams and
//! delayed wills. All are data; the engine reports the earliest through
//! `next_deadline` and runs the due ones on input.

use super::{ConnId, Engine, Output};
use crate::error::EngineError;
use crate::event::DeathReason;
use crate::limits::{MAX_WATCH_INTERVAL_MS, MIN_WATCH_INTERVAL_MS};
use crate::protocol::{ErrorCode, ServerFrame};
use crate::queue::QueueId;
use std::cmp::Reverse;

impl Engine {
    pub(super) fn fire_timers(&mut self, now: u64) {
        self.expire_due(now);
        self.expire_unused_queues(now);
        if self.keep_alive_check_at.is_some_and(|at| now >= at) {
            self.check_keep_alive(now);
        }
        self.send_due_stats(now);
        self.publish_due_wills(now);
    }

    fn expire_due(&mut self, now: u64) {
        while let Some(&Reverse((at, qid, seq))) = self.expiry.peek() {
            if at > now {
                return;
            }
            self.expiry.pop();
            // Stale entries (delivered, acked, deleted, expiry moved) find nothing and are skipped.
            let Some(envelope) = self.queues.get_mut(&qid).and_then(|q| q.take_expired(seq, now)) else { continue };
            self.discard(qid, envelope, DeathReason::Expired, now);
        }
    }

    /// Marks queue `qid` used at `now` and, if it has `expires_ms` and no
    /// consumers, schedules its deletion.
    pub(super) fn touch_queue(&mut self, qid: QueueId, now: u64) {
        let Some(q) = self.queues.get_mut(&qid) else { return };
        q.last_used = now;
        if let Some(at) = q.unused_expiry() {
            self.queue_expiry.insert((at, qid));
        }
    }

    /// Deletes the queues unused for their `expires_ms`.
    fn expire_unused_queues(&mut self, now: u64) {
        while let Some(&(at, qid)) = self.queue_expiry.first() {
            if at > now {
                return;
            }
            self.queue_expiry.pop_first();
            // Stale entries (used since, consumed, deleted) are skipped.
            if self.queues.get(&qid).and_then(|q| q.unused_expiry()).is_some_and(|due| due <= now) {
                self.delete_queue(qid, now);
            }
        }
    }

    fn check_keep_alive(&mut self, now: u64) {
        let deadline = |last_seen: u64, keep_alive: u64| last_seen.saturating_add(keep_alive.saturating_mul(3) / 2);
        let silent: Vec<(ConnId, u64)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.keep_alive_ms > 0 && now >= deadline(c.last_seen, c.keep_alive_ms))
            .map(|(id, c)| (*id, c.keep_alive_ms))
            .collect();
        for (conn, keep_alive) in silent {
            let message = format!("nothing heard for 1.5 × keep_alive_ms ({keep_alive} ms); closing");
            self.send(conn, ServerFrame::Error { id: None, code: ErrorCode::KeepAliveTimeout, message });
            self.disconnect(conn, now);
            self.outputs.push_back(Output::Close { conn });
        }
        self.keep_alive_check_at =
            self.conns.values().filter(|c| c.keep_alive_ms > 0).map(|c| deadline(c.last_seen, c.keep_alive_ms)).min();
    }

    pub(super) fn watch(&mut self, conn: ConnId, id: u64, interval_ms: u64, now: u64) -> Result<(), EngineError> {
        if interval_ms != 0 && !(MIN_WATCH_INTERVAL_MS..=MAX_WATCH_INTERVAL_MS).contains(&interval_ms) {
            return Err(EngineError::InvalidOption(format!(
                "interval_ms must be 0 (once) or from {MIN_WATCH_INTERVAL_MS} to {MAX_WATCH_INTERVAL_MS}, got {interval_ms}"
            )));
        }
        let stats = Box::new(self.stats());
        self.send(conn, ServerFrame::Stats { id: Some(id), stats });
        let Some(c) = self.conns.get_mut(&conn) else { return Ok(()) };
        if interval_ms == 0 {
            return Ok(());
        }
        c.watch_interval = Some(interval_ms);
        self.watchers.retain(|(_, watcher)| *watcher != conn);
        self.watchers.insert((now.saturating_add(interval_ms), conn));
        Ok(())
    }

    pub(super) fn unwatch(&mut self, conn: ConnId, id: u64) -> Result<(), EngineError> {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.watch_interval = None;
        }
        self.watchers.retain(|(_, watcher)| *watcher != conn);
        self.send(conn, ServerFrame::Ok { id });
        Ok(())
    }

    fn send_due_stats(&mut self, now: u64) {
        while let Some(&(at, conn)) = self.watchers.first() {
            if at > now {
                return;
            }
            self.watchers.pop_first();
            let Some(interval) = self.conns.get(&conn).and_then(|c| c.watch_interval) else { continue };
            let stats = Box::new(self.stats());
            self.send(conn, ServerFrame::Stats { id: None, stats });
            // Keep the cadence, but never queue a burst after a long pause.
            let cadence = at.saturating_add(interval);
            let next = if cadence > now { cadence } else { now.saturating_add(interval) };
            self.watchers.insert((next, conn));
            if next <= now {
                // Time is at its end (u64::MAX): wait for no later instant.
                return;
            }
        }
    }
}
