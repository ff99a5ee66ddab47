//! `hearth pub`: publish one message, many, or each line of standard input.

use crate::client::{BrokerUrl, Client, ClientError};
use anyhow::{Context, bail};
use clap::Args;
use queue_core::protocol::{ClientFrame, ServerFrame};
use queue_core::{Payload, SharedHeaders};
use std::io::BufRead;
use std::path::PathBuf;

/// Arguments of `hearth pub`.
#[derive(Debug, Args)]
pub struct PubArgs {
    /// The broker (`--url`).
    #[command(flatten)]
    pub broker: BrokerUrl,
    /// Topic to publish to (routed to every queue bound with a matching filter).
    #[arg(long, short = 't', conflicts_with = "queue", required_unless_present = "queue")]
    pub topic: Option<String>,
    /// Queue to publish straight to.
    #[arg(long, short = 'q')]
    pub queue: Option<String>,
    /// Declare the queue first (with default options) if it does not exist.
    #[arg(long, requires = "queue")]
    pub declare: bool,
    /// The message. Without it (and without --file), each line of standard input is one message.
    pub message: Option<String>,
    /// Read the payload (any bytes) from a file.
    #[arg(long, short = 'f', conflicts_with = "message")]
    pub file: Option<PathBuf>,
    /// Keep the message as the topic's retained state (an empty message clears it).
    #[arg(long, short = 'r')]
    pub retain: bool,
    /// Time to live in milliseconds.
    #[arg(long)]
    pub ttl_ms: Option<u64>,
    /// A header, as key=value (repeatable).
    #[arg(long = "header", short = 'H', value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Publish the message this many times.
    #[arg(long, short = 'n', default_value_t = 1)]
    pub count: u64,
    /// Print nothing on success.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("header `{text}` must look like key=value"))
}

/// Runs `hearth pub`.
pub async fn run_pub(args: PubArgs) -> anyhow::Result<()> {
    let mut client = Client::open(&args.broker).await?;
    if args.declare {
        let id = client.next_id();
        let queue = args.queue.clone().unwrap_or_default();
        client.request(id, &ClientFrame::Declare { id, queue, options: Default::default() }).await?;
    }
    let payloads: Vec<Payload> = match (&args.message, &args.file) {
        (Some(text), _) => vec![Payload::from(text.as_str())],
        (None, Some(path)) => {
            vec![Payload::from(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)]
        }
        (None, None) => std::io::stdin()
            .lock()
            .lines()
            .map(|line| line.map(Payload::from))
            .collect::<Result<_, _>>()
            .context("cannot read standard input")?,
    };
    let headers = SharedHeaders::new(args.headers.iter().cloned().collect());
    let target = args.topic.as_deref().or(args.queue.as_deref()).unwrap_or_default().to_owned();
    let mut published = 0u64;
    for payload in &payloads {
        for _ in 0..args.count {
            let id = client.next_id();
            let frame = ClientFrame::Publish {
                id: Some(id),
                topic: args.topic.as_deref().map(Into::into),
                queue: args.queue.clone(),
                payload: payload.clone(),
                headers: headers.clone(),
                retain: args.retain,
                ttl_ms: args.ttl_ms,
            };
            let routed = match client.request(id, &frame).await {
                Ok(ServerFrame::Confirm { routed, .. }) => routed,
                Ok(other) => bail!("unexpected reply from the broker: {other:?}"),
                Err(ClientError::Refused { message, .. }) => bail!("{message}"),
                Err(err) => return Err(err.into()),
            };
            published += 1;
            if !args.quiet && args.count == 1 && payloads.len() == 1 {
                println!("published to {target} ({} bytes, routed to {routed} queue{})", payload.len(), plural(routed));
            }
        }
    }
    if !args.quiet && published != 1 {
        println!("published {published} messages to {target}");
    }
    client.close().await?;
    Ok(())
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}
