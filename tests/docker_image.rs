//! The shipped `Dockerfile`, stage `prebuilt` (`FROM scratch` + a host-built
//! static binary from the build context), built and run with the private
//! dockerd of tests/common/dockerd.rs: `/metrics` answers on 127.0.0.1 (host
//! network) and the process does not run as root.
//!
//! Contract with `.ci/run`: it builds the static binary and exports its path as
//! `CERTVIGIL_STATIC_BIN`. Without it (or without the Dockerfile) the test fails
//! under `CERTVIGIL_REQUIRE_REAL=1` and is skipped loudly otherwise. The
//! Dockerfile is built with `--target prebuilt` by the classic builder, which
//! stops at that stage: `base` and `prebuilt` are `FROM scratch`, so no image is
//! pulled and the test never uses the network.

#[path = "common/dockerd.rs"]
mod dockerd;
mod support_cli;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dockerd::Dockerd;
use support_cli::*;

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1")
}

fn skip_or_fail(msg: &str) {
    assert!(!require_real(), "{msg} (CERTVIGIL_REQUIRE_REAL=1)");
    eprintln!("SKIPPED: {msg}");
}

/// The `prebuilt` stage of a Dockerfile: from its `FROM … AS prebuilt` line to
/// the next `FROM`.
fn prebuilt_stage(dockerfile: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in dockerfile.lines() {
        let t = line.trim_start().to_ascii_lowercase();
        if t.starts_with("from ") {
            if inside {
                break;
            }
            let words: Vec<&str> = t.split_whitespace().collect();
            inside = words.len() >= 4
                && words[words.len() - 2] == "as"
                && words[words.len() - 1] == "prebuilt";
        }
        if inside {
            out.push(line.to_string());
        }
    }
    (!out.is_empty()).then(|| out.join("\n") + "\n")
}

#[test]
fn prebuilt_image_serves_metrics_as_non_root() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Ok(dockerfile) = std::fs::read_to_string(repo.join("Dockerfile")) else {
        return skip_or_fail("no Dockerfile in the repository");
    };
    let Some(stage) = prebuilt_stage(&dockerfile) else {
        return skip_or_fail("the Dockerfile has no `prebuilt` stage");
    };
    let Some(bin) = std::env::var_os("CERTVIGIL_STATIC_BIN").map(PathBuf::from) else {
        return skip_or_fail(
            "CERTVIGIL_STATIC_BIN is not set (.ci/run builds the static binary and exports it)",
        );
    };
    assert!(
        bin.is_file(),
        "CERTVIGIL_STATIC_BIN={} is not a file",
        bin.display()
    );
    let Some(d) = Dockerd::shared() else { return };

    // The repository's Dockerfile, built up to its `prebuilt` stage (the classic
    // builder stops there: no registry pull for the later `builder` stage), with
    // the static binary as the only file of the context.
    assert!(
        stage.contains("ARG CERTVIGIL_BIN"),
        "the prebuilt stage takes the binary's context path as ARG CERTVIGIL_BIN:\n{stage}"
    );
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(&bin, ctx.path().join("certvigil")).unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), &dockerfile).unwrap();
    let tag = "certvigil-test:prebuilt";
    let o = std::process::Command::new("docker")
        .arg("-H")
        .arg(d.host())
        .args(["build", "--target", "prebuilt", "-t", tag])
        .args(["--build-arg", "CERTVIGIL_BIN=certvigil"])
        .arg(ctx.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "docker build failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    let user = d.docker_ok(&["image", "inspect", "-f", "{{.Config.User}}", tag]);
    assert!(
        !user.is_empty() && user != "root" && user != "0" && !user.starts_with("0:"),
        "image runs as root (Config.User={user:?})"
    );

    let port = free_port();
    let name = "certvigil-image-test";
    let _ = d.docker(&["rm", "-f", name]);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "host",
        "--stop-timeout",
        "1",
        tag,
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    let _cleanup = RemoveOnDrop(&d, name);
    let metrics = loop {
        if let Some(r) = http(port, "GET", "/metrics", &[]) {
            if r.status == 200 && r.body.contains("x509_exporter_build_info") {
                break r.body;
            }
        }
        let running = d.docker_ok(&["inspect", "-f", "{{.State.Running}}", name]);
        assert!(
            running == "true",
            "the container stopped without serving /metrics; logs:\n{}",
            String::from_utf8_lossy(&d.docker(&["logs", name]).stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    promtool_check(&metrics);

    // The process itself: real uid from /proc.
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", name]);
    let status = std::fs::read_to_string(Path::new("/proc").join(&pid).join("status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let uid: u32 = uid_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_ne!(uid, 0, "certvigil runs as root in the image: {uid_line}");
}

struct RemoveOnDrop<'a>(&'a Dockerd, &'a str);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.docker(&["rm", "-f", self.1]);
    }
}

#[test]
fn stage_extraction() {
    let df = "FROM rust:1 AS build\nRUN cargo build\n\nFROM scratch AS prebuilt\nCOPY --chmod=755 target/certvigil /certvigil\nUSER 65534:65534\nENTRYPOINT [\"/certvigil\"]\n\nFROM build AS other\n";
    let stage = prebuilt_stage(df).unwrap();
    assert!(stage.starts_with("FROM scratch AS prebuilt"));
    assert!(!stage.contains("other"));
}
