//! `hearth sub`: consume a queue or a topic filter and print what arrives.

use crate::client::{BrokerUrl, Client, frame_json};
use anyhow::bail;
use clap::{Args, ValueEnum};
use queue_core::protocol::{AckMode, ClientFrame, Delivery, ServerFrame};
use std::io::Write;

/// How `hearth sub` prints messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `topic payload`, one line per message (binary payloads as base64).
    Text,
    /// The payload bytes only, one message per line.
    Raw,
    /// The whole `deliver` frame as one JSON line.
    Json,
}

/// How `hearth sub` acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ack {
    /// Ack each message after printing it.
    Manual,
    /// Messages count as acked when sent.
    Auto,
}

/// Arguments of `hearth sub`.
#[derive(Debug, Args)]
pub struct SubArgs {
    /// The broker (`--url`).
    #[command(flatten)]
    pub broker: BrokerUrl,
    /// Topic filter to follow (`home/#`, `home/+/temperature`) through a private queue.
    #[arg(long, short = 't', conflicts_with = "queue", required_unless_present = "queue")]
    pub topic: Option<String>,
    /// Queue to consume (shared with other consumers, round robin).
    #[arg(long, short = 'q')]
    pub queue: Option<String>,
    /// Declare the queue first (with default options) if it does not exist.
    #[arg(long, requires = "queue")]
    pub declare: bool,
    /// Ack mode.
    #[arg(long, value_enum, default_value_t = Ack::Manual)]
    pub ack: Ack,
    /// Most unacked messages at once.
    #[arg(long, short = 'p', default_value_t = 100)]
    pub prefetch: u32,
    /// Exit after this many messages (retained replays included).
    #[arg(long, short = 'n')]
    pub count: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `hearth sub` until `--count` messages arrived or the broker goes away.
pub async fn run_sub(args: SubArgs) -> anyhow::Result<()> {
    let mut client = Client::open(&args.broker).await?;
    if args.declare {
        let id = client.next_id();
        let queue = args.queue.clone().unwrap_or_default();
        client.request(id, &ClientFrame::Declare { id, queue, options: Default::default() }).await?;
    }
    let ack = match args.ack {
        Ack::Manual => AckMode::Manual,
        Ack::Auto => AckMode::Auto,
    };
    let id = client.next_id();
    let subscribe = ClientFrame::Subscribe {
        id,
        queue: args.queue.clone(),
        topic: args.topic.clone(),
        prefetch: Some(args.prefetch),
        ack,
    };
    let ServerFrame::Subscribed { queue, .. } = client.request(id, &subscribe).await? else {
        bail!("the broker did not confirm the subscription");
    };
    eprintln!("subscribed to {} (queue {queue}); waiting for messages…", args.topic.as_deref().unwrap_or(&queue));
    let mut received = 0u64;
    let stdout = std::io::stdout();
    while args.count.is_none_or(|n| received < n) {
        let Some(frame) = client.recv().await? else { bail!("the broker closed the connection") };
        match &frame {
            ServerFrame::Deliver(delivery) => {
                print_delivery(&mut stdout.lock(), args.format, &frame, delivery)?;
                received += 1;
                if let Some(tag) = delivery.tag {
                    client.send(&ClientFrame::Ack { tag, multiple: false }).await?;
                }
            }
            ServerFrame::Cancelled { reason, .. } => bail!("subscription cancelled: {reason}"),
            ServerFrame::Error { message, .. } => eprintln!("broker error: {message}"),
            _ => {}
        }
    }
    client.close().await?;
    Ok(())
}

fn print_delivery(out: &mut impl Write, format: Format, frame: &ServerFrame, d: &Delivery) -> std::io::Result<()> {
    match format {
        Format::Json => writeln!(out, "{}", frame_json(frame)),
        Format::Raw => {
            out.write_all(d.payload.as_bytes())?;
            writeln!(out)
        }
        Format::Text => {
            let payload = serde_json::to_string(&d.payload).unwrap_or_default();
            let body = d.payload.as_str().map_or(payload, str::to_owned);
            let mark = if d.retained {
                " (retained)"
            } else if d.redelivered {
                " (redelivered)"
            } else {
                ""
            };
            writeln!(out, "{} {body}{mark}", d.topic)
        }
    }?;
    out.flush()
}
