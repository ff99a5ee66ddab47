//! AMQP 0-9-1 through the real `hearth` binary, driven by RabbitMQ's own
//! Python tutorials (pika; `cargo xtask test` installs it with pip when
//! missing), in `tests/pika/`: each program as the tutorial has it, only
//! the port taken from `AMQP_PORT`.

mod common;

use common::{Broker, within};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// A tutorial program running in the background (killed when dropped).
struct Program {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    name: String,
}

fn python(broker: &Broker, script: &str, args: &[&str]) -> Command {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pika");
    let mut command = Command::new("python3");
    command
        .arg("-u")
        .arg(format!("{dir}/{script}"))
        .args(args)
        .env("AMQP_PORT", broker.amqp.port().to_string())
        .current_dir(dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

impl Program {
    /// Starts `script` and waits until it says it is waiting.
    async fn start(broker: &Broker, script: &str, args: &[&str]) -> Self {
        let mut child =
            python(broker, script, args).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("python3 runs");
        let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut program = Self { _child: child, lines, name: format!("{script} {}", args.join(" ")) };
        program.expect("Waiting").await;
        program
    }

    /// The next line, which must contain `text`.
    async fn expect(&mut self, text: &str) -> String {
        let line = within(&format!("`{}` to print {text:?}", self.name), self.lines.next_line())
            .await
            .expect("its output is readable")
            .unwrap_or_else(|| panic!("`{}` ended before printing {text:?} (is pika installed?)", self.name));
        assert!(line.contains(text), "`{}` printed {line:?}, expected {text:?}", self.name);
        line
    }

    /// Asserts that nothing more is printed for a moment.
    async fn quiet(&mut self) {
        if let Ok(line) = tokio::time::timeout(Duration::from_millis(300), self.lines.next_line()).await {
            panic!("`{}` printed {line:?}, expected nothing", self.name);
        }
    }
}

/// Runs a producer to completion; returns what it printed.
async fn run(broker: &Broker, script: &str, args: &[&str]) -> String {
    let out =
        within(&format!("`{script}` to finish"), python(broker, script, args).output()).await.expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'pika'"),
        "pika is missing: `cargo xtask test` installs it, or: python3 -m pip install pika"
    );
    assert!(out.status.success(), "`{script} {}` failed:\n{stderr}", args.join(" "));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn tutorial_one_hello_world() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    assert!(run(&broker, "send.py", &[]).await.contains("Sent 'Hello World!'"));
    let mut receive = Program::start(&broker, "receive.py", &[]).await;
    receive.expect("Received Hello World!").await;
    run(&broker, "send.py", &[]).await;
    receive.expect("Received Hello World!").await;
}

#[tokio::test]
async fn tutorial_two_work_queues_share_tasks_fairly_and_a_dead_worker_s_task_goes_to_another() {
    let broker = Broker::start().await;
    let mut first = Program::start(&broker, "worker.py", &[]).await;
    let mut second = Program::start(&broker, "worker.py", &[]).await;
    // A long task holds the first worker (prefetch 1): the rest go to the other.
    run(&broker, "new_task.py", &["Long.................................................."]).await;
    first.expect("Received Long").await;
    for task in ["Second.", "Third.", "Fourth."] {
        run(&broker, "new_task.py", &[task]).await;
        second.expect(&format!("Received {task} redelivered=False")).await;
        second.expect(&format!("Done {task}")).await;
    }
    // The first worker dies before its ack: the task is redelivered.
    drop(first);
    second.expect("Received Long").await;
    // The task queue is durable, its messages persistent: kept on disk.
    let stats = broker.queue_stats("task_queue").await;
    assert_eq!(stats["options"]["durable"], true, "{stats}");
}

#[tokio::test]
async fn tutorial_three_publish_subscribe_reaches_every_subscriber() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut one = Program::start(&broker, "receive_logs.py", &[]).await;
    let mut two = Program::start(&broker, "receive_logs.py", &[]).await;
    run(&broker, "emit_log.py", &["info:", "the", "hall", "light", "is", "on"]).await;
    one.expect("info: the hall light is on").await;
    two.expect("info: the hall light is on").await;
    // Their queues were exclusive: they go with their connections.
    drop(one);
    drop(two);
    within("the subscribers' queues to go", async {
        loop {
            let queues = broker.get_json("/api/queues").await;
            if queues.as_array().is_some_and(|q| q.iter().all(|q| !q["name"].as_str().unwrap_or("").contains("gen"))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn tutorial_four_routing_delivers_only_the_severities_bound() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut errors = Program::start(&broker, "receive_logs_direct.py", &["error"]).await;
    let mut all = Program::start(&broker, "receive_logs_direct.py", &["info", "warning", "error"]).await;
    run(&broker, "emit_log_direct.py", &["error", "Run. Run. Or it will explode."]).await;
    run(&broker, "emit_log_direct.py", &["info", "the door is locked"]).await;
    errors.expect("error:Run. Run. Or it will explode.").await;
    all.expect("error:Run. Run. Or it will explode.").await;
    all.expect("info:the door is locked").await;
    errors.quiet().await;
}

#[tokio::test]
async fn tutorial_five_topics_match_star_and_hash_patterns() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut everything = Program::start(&broker, "receive_logs_topic.py", &["#"]).await;
    let mut kern = Program::start(&broker, "receive_logs_topic.py", &["kern.*"]).await;
    let mut critical = Program::start(&broker, "receive_logs_topic.py", &["*.critical"]).await;
    let mut both = Program::start(&broker, "receive_logs_topic.py", &["kern.*", "*.critical"]).await;
    run(&broker, "emit_log_topic.py", &["kern.critical", "A critical kernel error"]).await;
    run(&broker, "emit_log_topic.py", &["kern.info", "boot"]).await;
    run(&broker, "emit_log_topic.py", &["cron.critical", "missed"]).await;
    run(&broker, "emit_log_topic.py", &["cron.info.extra", "three words"]).await;
    for line in ["kern.critical:A critical", "kern.info:boot", "cron.critical:missed", "cron.info.extra:three words"] {
        everything.expect(line).await;
    }
    kern.expect("kern.critical:A critical kernel error").await;
    kern.expect("kern.info:boot").await;
    critical.expect("kern.critical:A critical kernel error").await;
    critical.expect("cron.critical:missed").await;
    // One copy per queue, however many of its bindings match.
    both.expect("kern.critical:A critical kernel error").await;
    both.expect("kern.info:boot").await;
    both.expect("cron.critical:missed").await;
    for program in [&mut kern, &mut critical, &mut both] {
        program.quiet().await;
    }
}

#[tokio::test]
async fn tutorial_seven_publisher_confirms_acks_returns_and_nacks() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let out = run(&broker, "publisher_confirms.py", &[]).await;
    let expected = [
        " [x] 100 messages confirmed one by one",
        " [x] returned: NO_ROUTE",
        " [x] nacked: the queue is full",
        " [x] got message 0, 99 left",
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), expected, "{out}");
}
