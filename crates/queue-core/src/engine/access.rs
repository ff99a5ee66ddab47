//! Access control in the engine: who each connection acts for, and the
//! checks of [`crate::acl`] at every publish, subscription, queue operation,
//! will and delivery.
//!
//! Without an ACL ([`Engine::set_acl`] with `None`, the default) everything
//! is allowed and nothing here costs more than one branch.

use super::{ConnId, Connection, Engine, Output};
use crate::acl::{Acl, QueueAccess, TopicAccess, Who};
use crate::error::EngineError;
use crate::protocol::ClientFrame;
use std::sync::Arc;

/// What kind of client a connection is, for access control.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Role {
    /// A native-protocol client: every topic and queue request is checked.
    #[default]
    Client,
    /// A protocol adapter acting for one client (MQTT): its topics are
    /// checked (publish, subscribe, will, each delivery), its own queues
    /// (the session queue) are its business.
    Adapter,
    /// The broker itself (a bridge, housekeeping): nothing is checked.
    Internal,
}

/// A request the ACL refused, for the driver's log and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The connection that asked.
    pub conn: ConnId,
    /// Its username (`None`: anonymous).
    pub user: Option<Arc<str>>,
    /// Its client id.
    pub client_id: String,
    /// What it asked: `publish`, `subscribe`, `receive`, `will`, `consume`,
    /// `publish_queue` or `configure`.
    pub action: &'static str,
    /// The topic, filter or queue name.
    pub resource: String,
}

impl Engine {
    /// Sets the access control list (`None`: everything is allowed). Takes
    /// effect for every later request, on every connection.
    pub fn set_acl(&mut self, acl: Option<Arc<Acl>>) {
        self.acl = acl;
    }

    /// The access control list in force.
    pub fn acl(&self) -> Option<&Acl> {
        self.acl.as_deref()
    }

    /// Whether connection `conn` may receive a message published to
    /// `topic` (for a driver replaying retained messages itself).
    pub fn may_read(&self, conn: ConnId, topic: &str) -> bool {
        let (Some(acl), Some(c)) = (self.acl.as_deref(), self.conns.get(&conn)) else { return true };
        c.role == Role::Internal || acl.topic(who(c), TopicAccess::Read, topic)
    }

    pub(super) fn identify(&mut self, conn: ConnId, user: Option<String>, role: Role) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.user = user.map(Arc::from);
            c.role = role;
        }
    }

    /// Checks a topic request; a refusal is counted and reported.
    pub(super) fn check_topic(&mut self, conn: ConnId, access: TopicAccess, topic: &str) -> Result<(), EngineError> {
        let Some(acl) = self.acl.as_deref() else { return Ok(()) };
        let Some(c) = self.conns.get(&conn) else { return Ok(()) };
        if c.role == Role::Internal || acl.topic(who(c), access, topic) {
            return Ok(());
        }
        let action = match access {
            TopicAccess::Write => "publish",
            TopicAccess::Read => "receive",
            TopicAccess::Subscribe => "subscribe",
        };
        Err(self.denied(conn, action, topic))
    }

    /// Checks a will's topic at `hello`.
    pub(super) fn check_will(&mut self, conn: ConnId, topic: &str) -> Result<(), EngineError> {
        self.check_topic(conn, TopicAccess::Write, topic).map_err(|_| {
            self.rename_last_denial("will");
            EngineError::NotAuthorized(format!("a will on `{}` is not allowed for this user", short(topic)))
        })
    }

    /// Checks a queue request from a native client (adapters and the broker
    /// manage their own queues).
    pub(super) fn check_queue(&mut self, conn: ConnId, access: QueueAccess, queue: &str) -> Result<(), EngineError> {
        let Some(acl) = self.acl.as_deref() else { return Ok(()) };
        let Some(c) = self.conns.get(&conn) else { return Ok(()) };
        if c.role != Role::Client || acl.queue(who(c), access, queue) {
            return Ok(());
        }
        let action = match access {
            QueueAccess::Read => "consume",
            QueueAccess::Write => "publish_queue",
            QueueAccess::Configure => "configure",
        };
        Err(self.denied(conn, action, queue))
    }

    /// Whether a delivery of a message on `topic` to `c` must be withheld:
    /// an adapter's every delivery is checked, a native client's only from a
    /// queue of its own (a topic subscription); consuming a shared queue is
    /// granted by the queue's `read` right.
    pub(super) fn withholds(acl: Option<&Acl>, c: &Connection, own_queue: bool, topic: &str) -> bool {
        let Some(acl) = acl else { return false };
        let checked = match c.role {
            Role::Internal => false,
            Role::Adapter => true,
            Role::Client => own_queue,
        };
        checked && !acl.topic(who(c), TopicAccess::Read, topic)
    }

    /// Counts and reports a refusal; returns the error for the client.
    pub(super) fn denied(&mut self, conn: ConnId, action: &'static str, resource: &str) -> EngineError {
        self.counters.denied += 1;
        let (user, client_id) =
            self.conns.get(&conn).map(|c| (c.user.clone(), c.client_id.clone())).unwrap_or_default();
        let verb = match action {
            "publish" => "publish to",
            "receive" => "receive from",
            "subscribe" => "subscribe to",
            "consume" => "consume from queue",
            "publish_queue" => "publish to queue",
            _ => "configure queue",
        };
        let message = format!("{} may not {verb} `{}`", describe(user.as_deref()), short(resource));
        self.outputs.push_back(Output::Denied(Denial { conn, user, client_id, action, resource: resource.to_owned() }));
        EngineError::NotAuthorized(message)
    }

    fn rename_last_denial(&mut self, action: &'static str) {
        if let Some(Output::Denied(denial)) = self.outputs.back_mut() {
            denial.action = action;
        }
    }
}

fn who(c: &Connection) -> Who<'_> {
    Who { user: c.user.as_deref(), client_id: &c.client_id }
}

fn describe(user: Option<&str>) -> String {
    match user {
        Some(user) => format!("user `{}`", short(user)),
        None => "an anonymous client".into(),
    }
}

fn short(text: &str) -> String {
    crate::topic::shorten(text)
}

impl Engine {
    /// Checks a frame against the ACL before it is carried out (wills are
    /// checked at `hello`, deliveries as they leave).
    pub(super) fn authorize(&mut self, conn: ConnId, frame: &ClientFrame) -> Result<(), EngineError> {
        match frame {
            ClientFrame::Declare { queue, options, .. } => {
                // A private server-named queue touches nobody else's; a
                // shared one needs `configure` on the `gen-` names.
                if queue.is_empty() && options.exclusive {
                    return Ok(());
                }
                let name = if queue.is_empty() { "gen-" } else { queue.as_str() };
                self.check_queue(conn, QueueAccess::Configure, name)
            }
            ClientFrame::Delete { queue, .. }
            | ClientFrame::Unbind { queue, .. }
            | ClientFrame::Purge { queue, .. } => self.check_queue(conn, QueueAccess::Configure, queue),
            ClientFrame::Bind { queue, filter, .. } => {
                self.check_queue(conn, QueueAccess::Configure, queue)?;
                self.check_topic(conn, TopicAccess::Subscribe, filter)
            }
            ClientFrame::Publish { topic: Some(topic), .. } => self.check_topic(conn, TopicAccess::Write, topic),
            ClientFrame::Publish { queue: Some(queue), .. } => self.check_queue(conn, QueueAccess::Write, queue),
            ClientFrame::Subscribe { queue: Some(queue), .. }
            | ClientFrame::Get { queue, .. }
            | ClientFrame::Peek { queue, .. } => self.check_queue(conn, QueueAccess::Read, queue),
            ClientFrame::Subscribe { topic: Some(filter), .. } => {
                self.check_topic(conn, TopicAccess::Subscribe, filter)
            }
            _ => Ok(()),
        }
    }

    /// A will the ACL no longer allows when it is due is not published.
    pub(super) fn will_allowed(&mut self, conn: ConnId, c: &Connection, topic: &str) -> bool {
        let Some(acl) = self.acl.as_deref() else { return true };
        if c.role == Role::Internal || acl.topic(who(c), TopicAccess::Write, topic) {
            return true;
        }
        self.counters.denied += 1;
        let denial = Denial {
            conn,
            user: c.user.clone(),
            client_id: c.client_id.clone(),
            action: "will",
            resource: topic.to_owned(),
        };
        self.outputs.push_back(Output::Denied(denial));
        false
    }
}
