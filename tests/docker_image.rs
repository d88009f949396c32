//! The shipped `Dockerfile`, stage `prebuilt` (`FROM scratch` + a host-built
//! static binary from the build context), built and run with the private
//! dockerd of tests/common/dockerd.rs: `/metrics` answers on 127.0.0.1 (host
//! network) and the process does not run as root.
//!
//! Contract with `.ci/run`: it builds the static binary and exports its path as
//! `CERTVIGIL_STATIC_BIN`. Without it (or without the Dockerfile) the test fails
//! under `CERTVIGIL_REQUIRE_REAL=1` and is skipped loudly otherwise. Only the
//! `prebuilt` stage is built (extracted into a temporary context, so no other
//! stage needs base images from a registry: the test never uses the network).

#[path = "common/dockerd.rs"]
mod dockerd;
mod support_cli;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// Sources of the stage's `COPY`/`ADD` lines that come from the build context.
fn context_sources(stage: &str) -> Vec<String> {
    let mut v = Vec::new();
    for line in stage.lines() {
        let t = line.trim();
        let lower = t.to_ascii_lowercase();
        if !(lower.starts_with("copy ") || lower.starts_with("add ")) || lower.contains("--from=") {
            continue;
        }
        let args: Vec<&str> = t
            .split_whitespace()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .collect();
        if args.len() >= 2 {
            v.extend(
                args[..args.len() - 1]
                    .iter()
                    .map(|s| s.trim_matches('"').to_string()),
            );
        }
    }
    v
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

    // A context with the binary wherever the stage copies it from.
    let ctx = tempfile::tempdir().unwrap();
    let sources = context_sources(&stage);
    assert!(
        !sources.is_empty(),
        "the prebuilt stage copies nothing:\n{stage}"
    );
    for src in &sources {
        let target = ctx.path().join(src.trim_start_matches("./"));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::copy(&bin, &target).unwrap();
    }
    std::fs::write(ctx.path().join("Dockerfile"), &stage).unwrap();
    let tag = "certvigil-test:prebuilt";
    let o = std::process::Command::new("docker")
        .arg("-H")
        .arg(d.host())
        .args(["build", "--target", "prebuilt", "-t", tag])
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
    let deadline = Instant::now() + Duration::from_secs(120);
    let metrics = loop {
        if let Some(r) = http(port, "GET", "/metrics", &[]) {
            if r.status == 200 && r.body.contains("x509_exporter_build_info") {
                break r.body;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no /metrics from the container; logs:\n{}",
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
    assert_eq!(context_sources(&stage), vec!["target/certvigil"]);
}
