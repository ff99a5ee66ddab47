//! Connections: hello, goodbye, loss, and the last will (a delayed one
//! waits in [`super::wills`]).

use super::{ConnId, Connection, Engine, InFlight, Output};
use crate::error::EngineError;
use crate::event::Event;
use crate::limits::{MAX_DURATION_MS, check_duration, check_headers};
use crate::protocol::{PROTOCOL_VERSION, ServerFrame, WILL_TTL_HEADER, Will};
use crate::topic::validate_topic;

/// Longest client id accepted, in bytes (MQTT's own limit).
const MAX_CLIENT_ID: usize = 65_535;

impl Engine {
    pub(super) fn connect(&mut self, conn: ConnId, now: u64) {
        if self.conns.contains_key(&conn) {
            return;
        }
        let c = Connection {
            client_id: format!("conn-{conn}"),
            connected_at: now,
            last_seen: now,
            keep_alive_ms: 0,
            will: None,
            said_hello: false,
            said_bye: false,
            next_tag: 1,
            in_flight: Default::default(),
            consumers: Vec::new(),
            exclusive: Vec::new(),
            watch_interval: None,
            published: 0,
            told_blocked: false,
            user: None,
            role: Default::default(),
        };
        self.conns.insert(conn, Box::new(c));
        self.emit(|| Event::Connected { conn });
    }

    pub(super) fn hello(
        &mut self,
        conn: ConnId,
        id: Option<u64>,
        client_id: Option<String>,
        keep_alive_ms: u64,
        will: Option<Will>,
        now: u64,
    ) -> Result<(), EngineError> {
        check_duration("keep_alive_ms", keep_alive_ms)?;
        if let Some(will) = &will {
            check_will_fields(will)?;
        }
        if client_id.as_ref().is_some_and(|id| id.len() > MAX_CLIENT_ID || id.contains('\0')) {
            return Err(EngineError::InvalidOption("client_id must be at most 65535 bytes, with no NUL".into()));
        }
        let Some(c) = self.conns.get_mut(&conn) else { return Ok(()) };
        if c.said_hello {
            return Err(EngineError::ProtocolViolation("`hello` was already sent on this connection".into()));
        }
        c.said_hello = true;
        if let Some(client_id) = client_id.filter(|id| !id.is_empty()) {
            c.client_id = client_id;
        }
        c.keep_alive_ms = keep_alive_ms;
        if let Some(will) = &will
            && let Err(err) = self.check_will(conn, &will.topic)
        {
            return Err(err);
        }
        let Some(c) = self.conns.get_mut(&conn) else { return Ok(()) };
        c.will = will.map(Box::new);
        // Back in time: the will it left waiting is not published.
        let (client_id, user) = (c.client_id.clone(), c.user.clone());
        self.cancel_will(&client_id, user.as_deref());
        let welcome =
            ServerFrame::Welcome { id, connection: conn, client_id, protocol: PROTOCOL_VERSION, keep_alive_ms };
        if keep_alive_ms > 0 {
            let due = now.saturating_add(keep_alive_ms.saturating_mul(3) / 2);
            self.keep_alive_check_at = Some(self.keep_alive_check_at.map_or(due, |at| at.min(due)));
        }
        self.send(conn, welcome);
        Ok(())
    }

    /// Replaces the connection's will (`None`: drops it).
    pub(super) fn set_will(&mut self, conn: ConnId, id: Option<u64>, will: Option<Will>) -> Result<(), EngineError> {
        if let Some(will) = &will {
            check_will_fields(will)?;
            self.check_will(conn, &will.topic)?;
        }
        let Some(c) = self.conns.get_mut(&conn) else { return Ok(()) };
        c.will = will.map(Box::new);
        if let Some(id) = id {
            self.send(conn, ServerFrame::Ok { id });
        }
        Ok(())
    }

    /// A clean goodbye: forget the will, and ask the driver to close.
    pub(super) fn bye(&mut self, conn: ConnId, now: u64) -> Result<(), EngineError> {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.said_bye = true;
        }
        self.disconnect(conn, now);
        self.outputs.push_back(Output::Close { conn });
        Ok(())
    }

    /// Forgets a connection: its consumers' unacked messages are requeued, its
    /// exclusive queues deleted, and, unless it said `bye`, its will published
    /// (or, with a delay, held until it is due).
    pub(super) fn disconnect(&mut self, conn: ConnId, now: u64) {
        let Some(c) = self.conns.get(&conn) else { return };
        let consumers: Vec<u64> = c.consumers.iter().map(|(id, _)| *id).collect();
        for consumer in consumers {
            self.remove_consumer(conn, consumer, now);
        }
        let Some(mut c) = self.conns.remove(&conn) else { return };
        // What `get` took and nobody acked goes back, as a consumer's does.
        let mut got: Vec<InFlight> = std::mem::take(&mut c.in_flight).into_values().collect();
        got.sort_by_key(|f| f.envelope.seq);
        let mut touched = Vec::new();
        for flight in got {
            if let Some(q) = self.queues.get_mut(&flight.queue) {
                q.unacked -= 1;
                touched.push(flight.queue);
                self.return_to_queue(flight.queue, flight.envelope, now);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for qid in touched {
            self.dispatch(qid, now);
        }
        if c.watch_interval.is_some() {
            self.watchers.retain(|(_, watcher)| *watcher != conn);
        }
        for queue in std::mem::take(&mut c.exclusive) {
            self.delete_queue(queue, now);
        }
        let clean = c.said_bye;
        let will = c.will.take().filter(|will| !clean && self.will_allowed(conn, &c, &will.topic));
        if let Some(will) = will {
            if will.delay_ms > 0 {
                self.delay_will(conn, &c.client_id, c.user.clone(), *will, now);
            } else {
                let topic = will.topic.clone();
                self.publish_will(*will, now);
                self.emit(|| Event::WillPublished { conn, topic: topic.into() });
            }
        }
        self.emit(|| Event::Disconnected { conn, clean });
    }
}

/// What a will must be, wherever it is given.
fn check_will_fields(will: &Will) -> Result<(), EngineError> {
    validate_topic(&will.topic)?;
    check_headers(&will.headers)?;
    check_duration("will delay_ms", will.delay_ms)?;
    let ttl_ok = |ttl: &String| ttl.parse::<u64>().is_ok_and(|ms| ms <= MAX_DURATION_MS);
    if will.headers.get(WILL_TTL_HEADER).is_some_and(|ttl| !ttl_ok(ttl)) {
        return Err(EngineError::InvalidOption(format!(
            "will header {WILL_TTL_HEADER} must be a number of milliseconds, at most {MAX_DURATION_MS}"
        )));
    }
    Ok(())
}
