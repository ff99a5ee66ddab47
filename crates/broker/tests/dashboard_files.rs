//! Serving the built dashboard (`--dist`): a file with a `.gz` beside it is
//! sent from that, as `Content-Encoding: gzip`, to a client that accepts gzip,
//! and as itself to one that does not.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use common::{Broker, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A fresh folder under the system temp dir, removed when dropped.
struct Dist(PathBuf);

impl Dist {
    fn new(files: &[(&str, &[u8])]) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
        let dir = std::env::temp_dir().join(format!("hearth-dist-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dist is created");
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).expect("temp dist file is written");
        }
        Self(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temp dir is UTF-8")
    }
}

impl Drop for Dist {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `GET path` with the given extra header lines; returns the lower-cased
/// header block and the raw body.
async fn get(addr: SocketAddr, path: &str, headers: &str) -> (String, Vec<u8>) {
    within(&format!("GET {path}"), async {
        let mut tcp = TcpStream::connect(addr).await.expect("the broker accepts HTTP");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.expect("request is sent");
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.expect("response is read");
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("response has a header block");
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        (head, raw[split + 4..].to_vec())
    })
    .await
}

const PAGE: &[u8] = b"<!doctype html><title>Hearth</title>";
const PAGE_GZ: &[u8] = b"\x1f\x8bpage compressed";
const SCRIPT: &[u8] = b"export default function init() {}";
const SCRIPT_GZ: &[u8] = b"\x1f\x8bscript compressed";
const WASM: &[u8] = b"\0asm\x01\0\0\0";

async fn broker_serving(dist: &Dist) -> Broker {
    Broker::start_with(&["--dist", dist.path()]).await
}

fn dist() -> Dist {
    Dist::new(&[
        ("index.html", PAGE),
        ("index.html.gz", PAGE_GZ),
        ("frontend.js", SCRIPT),
        ("frontend.js.gz", SCRIPT_GZ),
        ("frontend_bg.wasm", WASM),
    ])
}

#[tokio::test]
async fn a_client_accepting_gzip_gets_the_precompressed_file() {
    let dist = dist();
    let broker = broker_serving(&dist).await;

    let (head, body) = get(broker.addr, "/frontend.js", "Accept-Encoding: gzip, deflate, br\r\n").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("content-type: text/javascript"), "the type is the file's, not gzip's: {head}");
    assert_eq!(body, SCRIPT_GZ);

    let (head, body) = get(broker.addr, "/", "Accept-Encoding: gzip\r\n").await;
    assert!(head.contains("content-encoding: gzip") && head.contains("content-type: text/html"), "{head}");
    assert_eq!(body, PAGE_GZ, "the dashboard's page is sent compressed too");
}

#[tokio::test]
async fn a_client_without_gzip_gets_the_plain_file() {
    let dist = dist();
    let broker = broker_serving(&dist).await;

    let (head, body) = get(broker.addr, "/frontend.js", "").await;
    assert!(head.starts_with("http/1.1 200") && !head.contains("content-encoding"), "{head}");
    assert_eq!(body, SCRIPT);

    let (head, body) = get(broker.addr, "/", "Accept-Encoding: identity\r\n").await;
    assert!(!head.contains("content-encoding"), "{head}");
    assert_eq!(body, PAGE);
}

#[tokio::test]
async fn a_file_without_a_gz_twin_is_sent_as_it_is() {
    let dist = dist();
    let broker = broker_serving(&dist).await;

    let (head, body) = get(broker.addr, "/frontend_bg.wasm", "Accept-Encoding: gzip\r\n").await;
    assert!(head.starts_with("http/1.1 200") && !head.contains("content-encoding"), "{head}");
    assert!(head.contains("content-type: application/wasm"), "{head}");
    assert_eq!(body, WASM);
}
