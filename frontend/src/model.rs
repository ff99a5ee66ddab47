//! The plain data the views show.

/// One queue of the live broker, as its table row shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueueInfo {
    /// The queue's name.
    pub name: String,
    /// Messages waiting to be delivered.
    pub ready: u64,
    /// Messages delivered but not yet acknowledged.
    pub unacked: u64,
    /// Consumers subscribed to the queue.
    pub consumers: u64,
    /// Messages in per second, formatted ("—" until two snapshots arrived).
    pub rate_in: String,
    /// Deliveries per second, formatted.
    pub rate_out: String,
    /// Declared durable: the broker keeps its messages in its store.
    pub durable: bool,
    /// Bytes of its records on disk, for a durable queue when the admin
    /// API said (`None`: not durable, or not known).
    pub disk_bytes: Option<u64>,
    /// One of this page's own subscriptions (the live monitor's queues).
    pub own: bool,
}

/// What the dashboard knows about its link to the broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// No answer yet.
    Loading,
    /// The last request succeeded.
    Connected,
    /// The last request failed; the text says how, for a person.
    Error(String),
}

impl Status {
    /// The line shown to the user.
    pub fn text(&self) -> String {
        match self {
            Status::Loading => "loading…".to_string(),
            Status::Connected => "connected to this broker".to_string(),
            Status::Error(reason) => reason.clone(),
        }
    }

    /// A CSS class, so the line's colour follows its meaning.
    pub fn class(&self) -> &'static str {
        match self {
            Status::Loading => "status loading",
            Status::Connected => "status ok",
            Status::Error(_) => "status error",
        }
    }
}
