//! The memory budget: what the engine holds for messages, and blocking
//! publishers above [`EngineConfig::memory_limit`](super::EngineConfig::memory_limit).
//!
//! The engine counts each copy a queue holds (ready or unacked) and each
//! retained message by its [`footprint`](crate::Message::footprint); a
//! message routed to three queues counts three times, so the figure is an
//! upper bound of what messages really take. The driver adds the bytes it
//! buffers for connections ([`Input::Buffered`](super::Input::Buffered)).
//!
//! At or above the limit the engine says [`Output::Blocked`]`(true)` once,
//! and sends `blocked` to every connection that has published; the driver
//! stops reading publishers. Consumers, acks and deletes keep flowing, so
//! memory falls; below [`LOW_WATERMARK_PERCENT`] of the limit the engine
//! says `Blocked(false)` and sends `unblocked` to the connections it told.
//!
//! The disk budget ([`EngineConfig::disk_limit`](super::EngineConfig::disk_limit))
//! works the same way on what the driver's store reports
//! ([`Input::Disk`](super::Input::Disk)): publishers are blocked while
//! either budget is used up, and unblocked once both are below their low
//! watermark.

use super::{ConnId, Engine, LOW_WATERMARK_PERCENT, Output};
use crate::protocol::ServerFrame;
use crate::stats::MemoryStats;

impl Engine {
    /// Memory in use and the budget, now.
    pub fn memory(&self) -> MemoryStats {
        MemoryStats {
            used: self.memory_used(),
            limit: self.config.memory_limit,
            queued: self.queued_bytes,
            retained: self.retained_bytes,
            buffered: self.buffered_bytes,
            blocked: self.blocked,
            disk: self.disk_bytes,
            disk_limit: self.config.disk_limit,
        }
    }

    fn memory_used(&self) -> u64 {
        self.queued_bytes.saturating_add(self.retained_bytes).saturating_add(self.buffered_bytes)
    }

    /// Blocks or unblocks publishers when memory in use crossed a watermark.
    pub(super) fn check_memory(&mut self) {
        let budgets = [(self.memory_used(), self.config.memory_limit), (self.disk_bytes, self.config.disk_limit)];
        let over = budgets.iter().any(|(used, limit)| limit.is_some_and(|limit| *used >= limit));
        let under =
            budgets.iter().all(|(used, limit)| limit.is_none_or(|limit| *used < limit / 100 * LOW_WATERMARK_PERCENT));
        if !self.blocked && over {
            self.blocked = true;
            self.outputs.push_back(Output::Blocked(true));
            let publishers: Vec<ConnId> =
                self.conns.iter().filter(|(_, c)| c.published > 0).map(|(id, _)| *id).collect();
            for conn in publishers {
                self.tell_blocked(conn);
            }
        } else if self.blocked && under {
            self.blocked = false;
            self.outputs.push_back(Output::Blocked(false));
            let told: Vec<ConnId> = self.conns.iter().filter(|(_, c)| c.told_blocked).map(|(id, _)| *id).collect();
            for conn in told {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.told_blocked = false;
                }
                self.send(conn, ServerFrame::Unblocked);
            }
        }
    }

    /// Sends `blocked` to `conn` unless it was told already.
    pub(super) fn tell_blocked(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.told_blocked {
            return;
        }
        c.told_blocked = true;
        let reason = match self.config.disk_limit {
            Some(limit) if self.disk_bytes >= limit => format!(
                "the broker's disk budget ({limit} bytes) is used up; publishes are held until consumers drain durable queues"
            ),
            _ => format!(
                "the broker's memory budget ({} bytes) is used up; publishes are held until consumers drain queues",
                self.config.memory_limit.unwrap_or(0)
            ),
        };
        self.send(conn, ServerFrame::Blocked { reason });
    }
}
