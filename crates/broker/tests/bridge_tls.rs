//! Bridges over TLS to Debian's `mosquitto`: the remote's certificate
//! checked against the bridge's CA, a client certificate shown (mosquitto
//! requires one), and a remote whose certificate another CA signed refused
//! with a clear error. Certificates come from `scripts/make-certs.sh`.

mod bridge_support;
mod common;

use bridge_support::{Mosquitto, Sub, bridge_table, connected, free_port, hearth_with, publish, wait_bridge};
use std::path::Path;

fn make_certs(dir: &Path, devices: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/make-certs.sh");
    let out = std::process::Command::new("sh")
        .arg(script)
        .arg(dir)
        .arg("remote.local")
        .args(devices)
        .output()
        .expect("sh runs (and openssl: apt-get install openssl)");
    assert!(out.status.success(), "make-certs.sh: {}", String::from_utf8_lossy(&out.stderr));
    // mosquitto drops to its own user before it reads them.
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).expect("the certificates") {
        let path = entry.expect("an entry").path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
}

#[tokio::test]
async fn tls_with_a_client_certificate_and_a_wrong_ca_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (certs, other) = (dir.path().join("certs"), dir.path().join("other"));
    make_certs(&certs, &["edge"]);
    make_certs(&other, &[]);
    let tls_port = free_port();
    let file = |name: &str| certs.join(name).display().to_string();
    let remote = Mosquitto::start(&format!(
        "listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true",
        file("ca.crt"),
        file("server.crt"),
        file("server.key")
    ))
    .await;
    let secure = format!(
        "tls_ca_file = \"{}\"\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"",
        file("ca.crt"),
        file("edge.crt"),
        file("edge.key")
    );
    let wrong_ca = format!("tls_ca_file = \"{}\"", other.join("ca.crt").display());
    let config = [
        bridge_table("secure", tls_port, &["home/# out 1"], &secure),
        bridge_table("wrongca", tls_port, &["home/# out 1"], &wrong_ca),
    ]
    .concat();
    let hearth = hearth_with(dir.path(), &config).await;
    connected(&hearth, "secure").await;
    // The test listens on the remote's plain loopback listener.
    let mut far = Sub::start(remote.port, &["-t", "home/#", "-q", "1"], true).await;
    publish(hearth.mqtt.port(), &["-t", "home/hall/door", "-m", "locked", "-q", "1"]).await;
    assert_eq!(far.next().await, "home/hall/door locked");

    let refused = wait_bridge(&hearth, "wrongca", "an error", |b| b["last_error"].is_string()).await;
    assert_ne!(refused["state"], "connected");
    let why = refused["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("certificate"), "says the certificate is not trusted: {refused}");
}
