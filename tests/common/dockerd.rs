//! A private Docker daemon for integration tests: `dockerd` with its own data
//! root, exec root, pid file and unix socket under a short temporary directory
//! (unix socket paths are limited to ~107 bytes), no iptables, no bridge, the
//! `vfs` storage driver; `docker swarm init` on 127.0.0.1; a tiny image
//! (`certvigil-test:busybox`) imported from a rootfs tar built from Debian's
//! `busybox-static`. The daemon is stopped, leftover mounts are unmounted and
//! the directory removed on drop.
//!
//! Use it from a test binary with `#[path = "common/dockerd.rs"] mod dockerd;`.
//! [`Dockerd::shared`] shares one daemon between the tests of a binary (it lives
//! while at least one test holds it); [`Dockerd::start`] gives a private one
//! (for tests that stop and restart it). When `dockerd`, `docker` or busybox is
//! missing, both return `None` after a loud message, or panic when
//! `CERTVIGIL_REQUIRE_REAL=1`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// The image every test container runs.
pub const IMAGE: &str = "certvigil-test:busybox";
/// Generous limit for the daemon to come up (slow CI machines).
const START_DEADLINE: Duration = Duration::from_secs(120);

/// A running private dockerd.
pub struct Dockerd {
    dir: tempfile::TempDir,
    child: Mutex<Option<Child>>,
}

fn find(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1")
}

/// Whether the engine can run here; skips loudly or fails under REQUIRE_REAL.
pub fn available() -> bool {
    let mut missing = Vec::new();
    for tool in ["dockerd", "docker"] {
        if find(tool).is_none() {
            missing.push(tool.to_string());
        }
    }
    if busybox().is_none() {
        missing.push("busybox (busybox-static)".to_string());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !root {
        missing.push("root privileges".to_string());
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "Docker integration test needs {} (apt-get install docker.io busybox-static)",
        missing.join(", ")
    );
    assert!(!require_real(), "{msg}; CERTVIGIL_REQUIRE_REAL=1");
    eprintln!("SKIPPED: {msg}");
    false
}

fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

static SHARED: Mutex<Weak<Dockerd>> = Mutex::new(Weak::new());

impl Dockerd {
    /// The daemon shared by the tests of this binary (started on first use).
    pub fn shared() -> Option<Arc<Dockerd>> {
        let mut g = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = g.upgrade() {
            return Some(d);
        }
        let d = Arc::new(Dockerd::start()?);
        *g = Arc::downgrade(&d);
        Some(d)
    }

    /// A private daemon, swarm initialised, test image imported.
    pub fn start() -> Option<Dockerd> {
        if !available() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("cvd")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let d = Dockerd {
            dir,
            child: Mutex::new(None),
        };
        d.launch();
        // Own ports, so that several private swarms (and a host one) can coexist.
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let data_port = free_port().to_string();
        d.docker_ok(&[
            "swarm",
            "init",
            "--advertise-addr",
            &listen,
            "--listen-addr",
            &listen,
            "--data-path-port",
            &data_port,
        ]);
        d.import_image();
        Some(d)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.dir().join("s.sock")
    }

    /// `unix:///…/s.sock`, for `DOCKER_HOST`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir().join("d")
    }

    fn launch(&self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir().join("dockerd.log"))
            .expect("dockerd log");
        let _ = std::fs::remove_file(self.socket());
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.dir().join("e"))
            .arg("--pidfile")
            .arg(self.dir().join("pid"))
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=vfs",
            ])
            .arg("-H")
            .arg(self.host())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn dockerd");
        *self.child.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if self.docker(&["version"]).status.success() {
                return;
            }
            if let Some(st) = self
                .child
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("dockerd exited ({st}); log:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer within {START_DEADLINE:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir().join("dockerd.log")).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[start..].to_string()
    }

    /// Stop the daemon (SIGTERM, then SIGKILL after a grace period), keeping its state.
    pub fn stop(&self) {
        let mut g = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut c) = g.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(100))
                    }
                    _ => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                }
            }
        }
    }

    /// Start the daemon again after [`Dockerd::stop`] (same state, same socket).
    pub fn restart(&self) {
        self.stop();
        self.launch();
    }

    /// `docker -H <socket> args...`.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null())
            .output()
            .expect("run docker")
    }

    /// Like [`Dockerd::docker`], panicking on failure; returns trimmed stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert!(
            o.status.success(),
            "docker {args:?} failed: {}\n{}\ndockerd log:\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            self.log()
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// `docker <args>` reading stdin from a file.
    pub fn docker_with_stdin(&self, args: &[&str], stdin: &Path) -> String {
        let o = Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .stdin(Stdio::from(std::fs::File::open(stdin).expect("stdin file")))
            .output()
            .expect("run docker");
        assert!(
            o.status.success(),
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Build a rootfs with `/bin/busybox` and its applets, tar it, `docker import`.
    fn import_image(&self) {
        if self.docker(&["image", "inspect", IMAGE]).status.success() {
            return;
        }
        let root = self.dir().join("rootfs");
        for d in ["bin", "etc", "tmp", "certs", "run", "proc", "sys", "dev"] {
            std::fs::create_dir_all(root.join(d)).expect("rootfs dir");
        }
        std::fs::copy(busybox().expect("busybox"), root.join("bin/busybox")).expect("copy busybox");
        for applet in [
            "sh", "cat", "sleep", "ls", "mkdir", "cp", "dd", "id", "true",
        ] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("symlink");
        }
        std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").expect("passwd");
        let tar = self.dir().join("rootfs.tar");
        let st = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .expect("tar");
        assert!(st.success(), "tar of the rootfs failed");
        self.docker_ok(&["import", &tar.display().to_string(), IMAGE]);
    }

    /// Run a long-lived container (`sleep`), `--network none`; returns its id.
    pub fn run_container(&self, name: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "--stop-timeout",
            "1",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[IMAGE, "sleep", "1000000"]);
        self.docker_ok(&args)
    }

    /// Copy a host file into a container (`docker cp`), creating the directory.
    pub fn copy_into(&self, container: &str, host: &Path, path: &str) {
        let dir = Path::new(path)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/".into());
        self.docker_ok(&["exec", container, "mkdir", "-p", &dir]);
        self.docker_ok(&[
            "cp",
            &host.display().to_string(),
            &format!("{container}:{path}"),
        ]);
    }

    /// Wait until `cond` holds (generous deadline), panicking with `what`.
    pub fn wait_for(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + START_DEADLINE;
        while !cond() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; dockerd log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Unmount everything still mounted below the temp dir (deepest first).
    fn unmount_leftovers(&self) {
        let prefix = self.dir().display().to_string();
        let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
            return;
        };
        let mut points: Vec<String> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&prefix))
            .map(str::to_string)
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = Command::new("umount").args(["-l", &p]).status();
        }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.stop();
        // containerd shims of a killed daemon may linger: end the ones under our dir.
        let prefix = self.dir().display().to_string();
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                let pid = e.file_name().to_string_lossy().to_string();
                if !pid.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmd).contains(&prefix) {
                    let _ = Command::new("kill").args(["-KILL", &pid]).status();
                }
            }
        }
        self.unmount_leftovers();
    }
}
