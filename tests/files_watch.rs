//! The file source's change notification (inotify) in a long-running scraper:
//! each kind of change is reflected in the next scan and fires the rescan signal;
//! with nothing changed a scan does not walk (asserted with the source's walk and
//! directory-listing counters, never with time); when watches cannot be
//! established the source keeps walking and still sees every change.
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use certvigil::config::WatchEnabled;
use certvigil::model::SourceKind;
use certvigil::scraper::Scraper;
use certvigil::setup::default_config;
use certvigil::sources::files::config::FileSourceConfig;
use certvigil::sources::files::FileSource;
use certvigil::sources::{RescanSignal, Source};
use futures::FutureExt;

fn cert_pem(name: &str) -> String {
    rcgen::generate_simple_self_signed(vec![name.to_string()])
        .expect("certificate")
        .cert
        .pem()
}

fn write(p: &Path, data: &str) {
    if let Some(d) = p.parent() {
        fs::create_dir_all(d).expect("mkdir");
    }
    fs::write(p, data).expect("write");
}

/// Temporary directories on each kind of file system at hand: the default
/// (`TMPDIR`, ext4 here) and tmpfs (`/dev/shm`) when it is writable.
fn temp_dirs() -> Vec<tempfile::TempDir> {
    let mut v = vec![tempfile::tempdir().expect("tempdir")];
    if let Ok(d) = tempfile::tempdir_in("/dev/shm") {
        v.push(d);
    }
    v
}

fn config(paths: &[&Path]) -> FileSourceConfig {
    let mut c = default_config()
        .sources
        .of::<FileSourceConfig>()
        .find(|f| f.kind == SourceKind::File)
        .cloned()
        .expect("default file source");
    c.name = "watched".into();
    c.paths = paths.iter().map(|p| p.display().to_string()).collect();
    c.exclude = Vec::new();
    c.watch.debounce = Duration::from_millis(50);
    c
}

/// A scraper as `serve` runs it: the rescan signal is attached before the first scan.
struct Rig {
    src: Arc<FileSource>,
    scraper: Scraper,
    signal: RescanSignal,
}

impl Rig {
    fn new(cfg: FileSourceConfig) -> Rig {
        let src = Arc::new(FileSource::new(cfg));
        let mut scraper = Scraper::new(
            vec![src.clone() as Arc<dyn Source>],
            Duration::from_secs(600),
        );
        let signal = scraper.rescan_signal();
        Rig {
            src,
            scraper,
            signal,
        }
    }

    /// DNS names of the inventoried certificates, with their locations.
    async fn scan(&mut self) -> BTreeSet<(String, String)> {
        let snap = self.scraper.scan(chrono::Utc::now()).await;
        assert!(snap.sources.iter().all(|s| s.up), "source down");
        snap.certificates
            .iter()
            .map(|c| {
                (
                    c.cert.dns_names.first().cloned().unwrap_or_default(),
                    c.source.location.clone(),
                )
            })
            .collect()
    }

    async fn names(&mut self) -> BTreeSet<String> {
        self.scan().await.into_iter().map(|(n, _)| n).collect()
    }

    fn walks(&self) -> u64 {
        self.src.stats().walks
    }

    /// Forget a rescan request left from set-up.
    fn clear_signal(&self) {
        let _ = self.signal.notified().now_or_never();
    }

    /// Scan until a scan is answered without walking (the first walk after a
    /// change may itself be disturbed by the change's late events).
    async fn settle(&mut self) {
        for _ in 0..5 {
            let before = self.src.stats();
            let _ = self.scan().await;
            let after = self.src.stats();
            if after.walks == before.walks {
                assert_eq!(after.replays, before.replays + 1);
                assert_eq!(
                    after.dirs_listed, before.dirs_listed,
                    "a replay lists nothing"
                );
                return;
            }
        }
        panic!(
            "scans keep walking with nothing changed: {:?}",
            self.src.stats()
        );
    }

    /// Apply `change`; the very next scan must walk and show `expect`; the rescan
    /// signal must have fired; afterwards scans stop walking again.
    async fn change_is_seen(&mut self, change: impl FnOnce(), expect: &[&str]) {
        self.settle().await;
        self.clear_signal();
        let walks = self.walks();
        change();
        let names = self.names().await;
        let want: BTreeSet<String> = expect.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, want);
        assert_eq!(self.walks(), walks + 1, "the change made the scan walk");
        // The change asked for a prompt rescan: the signal fired or is pending
        // after the debounce. Not a timing assertion: the deadline only turns a
        // signal that never comes into a failure instead of a hung test.
        tokio::time::timeout(std::time::Duration::from_secs(120), self.signal.notified())
            .await
            .expect("the change never fired the rescan signal");
        self.settle().await;
        assert_eq!(self.names().await, want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_changed_means_no_walk() {
    for t in temp_dirs() {
        nothing_changed_in(&t).await;
    }
}

async fn nothing_changed_in(t: &tempfile::TempDir) {
    let root = t.path().join("certs");
    for i in 0..5 {
        write(
            &root.join(format!("d{}/c{i}.pem", i % 2)),
            &cert_pem(&format!("c{i}.test")),
        );
    }
    let mut rig = Rig::new(config(&[&root]));
    let first = rig.names().await;
    assert_eq!(first.len(), 5);
    let s1 = rig.src.stats();
    assert!(s1.watching, "serve-style scraper creates a watcher");
    assert_eq!(s1.walks, 1);
    assert_eq!(s1.dirs_listed, 3);
    // The first walk registered its watches before reading anything: the
    // second scan already reuses it.
    for n in 0..3 {
        assert_eq!(rig.names().await, first);
        let s = rig.src.stats();
        assert_eq!(s.walks, 1, "scan {} walked", n + 2);
        assert_eq!(s.replays, n + 1);
        assert_eq!(s.dirs_listed, 3);
    }
    // Reading the files (as the walk does) is not a change.
    for e in fs::read_dir(root.join("d0")).expect("ls") {
        let _ = fs::read(e.expect("entry").path());
    }
    assert_eq!(rig.names().await, first);
    assert_eq!(rig.walks(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modified_added_deleted_renamed_and_new_directory() {
    for t in temp_dirs() {
        changes_in(&t).await;
    }
}

async fn changes_in(t: &tempfile::TempDir) {
    let root = t.path().join("certs");
    write(&root.join("a.pem"), &cert_pem("a.test"));
    write(&root.join("sub/b.pem"), &cert_pem("b.test"));
    let mut rig = Rig::new(config(&[&root]));
    assert_eq!(rig.names().await.len(), 2);

    let r = root.clone();
    rig.change_is_seen(
        move || {
            // In place: same inode, same size class; only the content differs.
            let mut f = fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(r.join("a.pem"))
                .expect("open");
            std::io::Write::write_all(&mut f, cert_pem("a2.test").as_bytes()).expect("write");
        },
        &["a2.test", "b.test"],
    )
    .await;
    let r = root.clone();
    rig.change_is_seen(
        move || write(&r.join("sub/c.pem"), &cert_pem("c.test")),
        &["a2.test", "b.test", "c.test"],
    )
    .await;
    let r = root.clone();
    rig.change_is_seen(
        move || fs::remove_file(r.join("sub/b.pem")).expect("rm"),
        &["a2.test", "c.test"],
    )
    .await;
    let r = root.clone();
    rig.change_is_seen(
        move || write(&r.join("new/deeper/d.pem"), &cert_pem("d.test")),
        &["a2.test", "c.test", "d.test"],
    )
    .await;
    // The new directory is watched now: a change inside it is seen too.
    let r = root.clone();
    rig.change_is_seen(
        move || write(&r.join("new/deeper/e.pem"), &cert_pem("e.test")),
        &["a2.test", "c.test", "d.test", "e.test"],
    )
    .await;
    let r = root.clone();
    rig.change_is_seen(
        move || fs::rename(r.join("sub/c.pem"), r.join("new/c-renamed.pem")).expect("mv"),
        &["a2.test", "c.test", "d.test", "e.test"],
    )
    .await;
    let locations: BTreeSet<String> = rig.scan().await.into_iter().map(|(_, l)| l).collect();
    assert!(locations.contains(&root.join("new/c-renamed.pem").display().to_string()));
    assert!(!locations.contains(&root.join("sub/c.pem").display().to_string()));
}

/// How the kubelet updates a mounted Secret: a new timestamped directory, a
/// `..data_tmp` symlink renamed over `..data`, the old directory removed; the
/// visible names are symlinks through `..data`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_atomic_data_symlink_swap() {
    let t = tempfile::tempdir().expect("tempdir");
    let vol = t.path().join("secret-volume");
    let v1 = vol.join("..2026_01_01_00_00_00.000000001");
    write(&v1.join("tls.crt"), &cert_pem("v1.test"));
    symlink("..2026_01_01_00_00_00.000000001", vol.join("..data")).expect("ln");
    symlink("..data/tls.crt", vol.join("tls.crt")).expect("ln");
    let mut cfg = config(&[&vol.join("tls.crt")]);
    cfg.watch.debounce = Duration::ZERO;
    let mut rig = Rig::new(cfg);
    assert_eq!(rig.names().await, BTreeSet::from(["v1.test".to_string()]));
    let v = vol.clone();
    rig.change_is_seen(
        move || {
            let v2 = v.join("..2026_01_02_00_00_00.000000002");
            write(&v2.join("tls.crt"), &cert_pem("v2.test"));
            symlink("..2026_01_02_00_00_00.000000002", v.join("..data_tmp")).expect("ln");
            fs::rename(v.join("..data_tmp"), v.join("..data")).expect("swap");
            fs::remove_dir_all(v.join("..2026_01_01_00_00_00.000000001")).expect("rm old");
        },
        &["v2.test"],
    )
    .await;
    // The same volume configured as a directory.
    let mut rig = Rig::new(config(&[&vol]));
    assert_eq!(rig.names().await, BTreeSet::from(["v2.test".to_string()]));
    let v = vol.clone();
    rig.change_is_seen(
        move || {
            let v3 = v.join("..2026_01_03_00_00_00.000000003");
            write(&v3.join("tls.crt"), &cert_pem("v3.test"));
            symlink("..2026_01_03_00_00_00.000000003", v.join("..data_tmp")).expect("ln");
            fs::rename(v.join("..data_tmp"), v.join("..data")).expect("swap");
            fs::remove_dir_all(v.join("..2026_01_02_00_00_00.000000002")).expect("rm old");
        },
        &["v3.test"],
    )
    .await;
}

/// certbot: `live/<name>/cert.pem -> ../../archive/<name>/certN.pem`; only `live`
/// is configured, the archive is reached through the symlinks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlink_targets_outside_the_walk_are_watched() {
    let t = tempfile::tempdir().expect("tempdir");
    let le = t.path().join("letsencrypt");
    write(&le.join("archive/site/cert1.pem"), &cert_pem("one.test"));
    fs::create_dir_all(le.join("live/site")).expect("mkdir");
    symlink(
        "../../archive/site/cert1.pem",
        le.join("live/site/cert.pem"),
    )
    .expect("ln");
    let mut rig = Rig::new(config(&[&le.join("live")]));
    assert_eq!(rig.names().await, BTreeSet::from(["one.test".to_string()]));
    // The target rewritten in place (outside the walked tree).
    let l = le.clone();
    rig.change_is_seen(
        move || write(&l.join("archive/site/cert1.pem"), &cert_pem("one-b.test")),
        &["one-b.test"],
    )
    .await;
    // A renewal: four files written, the symlink re-pointed.
    let l = le.clone();
    rig.change_is_seen(
        move || {
            for f in ["cert2.pem", "chain2.pem", "fullchain2.pem", "privkey2.pem"] {
                write(&l.join("archive/site").join(f), &cert_pem("two.test"));
            }
            let tmp = l.join("live/site/cert.pem.new");
            symlink("../../archive/site/cert2.pem", &tmp).expect("ln");
            fs::rename(&tmp, l.join("live/site/cert.pem")).expect("swap");
        },
        &["two.test"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_root_and_configured_file_appear() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path().join("not/yet/there");
    let file = t.path().join("etc/admin.pem");
    write(&t.path().join("etc/other.pem"), &cert_pem("other.test"));
    let mut rig = Rig::new(config(&[&dir, &file]));
    assert!(rig.names().await.is_empty());
    let d = dir.clone();
    rig.change_is_seen(
        move || write(&d.join("x.pem"), &cert_pem("x.test")),
        &["x.test"],
    )
    .await;
    let f = file.clone();
    rig.change_is_seen(
        move || write(&f, &cert_pem("admin.test")),
        &["admin.test", "x.test"],
    )
    .await;
    // A sibling of the configured file is not a change worth a walk.
    rig.settle().await;
    let walks = rig.walks();
    write(&t.path().join("etc/unrelated.conf"), "x");
    let _ = rig.names().await;
    assert_eq!(
        rig.walks(),
        walks,
        "an unrelated file next to a configured one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_referenced_file_is_watched() {
    use base64::Engine;
    let t = tempfile::tempdir().expect("tempdir");
    let kc = t.path().join("kube/config");
    write(&t.path().join("pki/ca.crt"), &cert_pem("ca-1.test"));
    let embedded = base64::engine::general_purpose::STANDARD.encode(cert_pem("embedded.test"));
    write(
        &kc,
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    certificate-authority-data: {embedded}\n- name: b\n  cluster:\n    certificate-authority: ../pki/ca.crt\n"
        ),
    );
    let mut cfg = config(&[&kc]);
    cfg.kind = SourceKind::Kubeconfig;
    let mut rig = Rig::new(cfg);
    assert_eq!(
        rig.names().await,
        BTreeSet::from(["ca-1.test".to_string(), "embedded.test".to_string()])
    );
    let p = t.path().to_path_buf();
    rig.change_is_seen(
        move || write(&p.join("pki/ca.crt"), &cert_pem("ca-2.test")),
        &["ca-2.test", "embedded.test"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_writes_asks_for_one_rescan() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("certs");
    write(&root.join("a.pem"), &cert_pem("a.test"));
    let mut cfg = config(&[&root]);
    // A window far longer than the test: every write below falls into it.
    cfg.watch.debounce = Duration::from_secs(3600);
    let mut rig = Rig::new(cfg);
    let _ = rig.names().await;
    let _ = rig.names().await;
    assert_eq!(rig.walks(), 1);
    for f in ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"] {
        write(&root.join(f), &cert_pem("b.test"));
    }
    assert_eq!(rig.names().await.len(), 2);
    assert_eq!(rig.walks(), 2);
    let s = rig.src.stats();
    assert!(s.watch.events >= 4, "{s:?}");
    assert_eq!(s.watch.signals, 0, "one signal, at the end of the window");
}

/// When watches cannot be established (as with the inotify watch limit reached),
/// every scan walks, and changes are still found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_watches_fall_back_to_walking() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("certs");
    write(&root.join("a.pem"), &cert_pem("a.test"));
    let mut rig = Rig::new(config(&[&root]));
    rig.src.simulate_watch_failure(true);
    assert_eq!(rig.names().await.len(), 1);
    assert_eq!(rig.names().await.len(), 1);
    assert_eq!(rig.names().await.len(), 1);
    let s = rig.src.stats();
    assert_eq!(s.walks, 3, "no watch, no reuse: {s:?}");
    assert_eq!(s.replays, 0);
    write(&root.join("b.pem"), &cert_pem("b.test"));
    assert_eq!(
        rig.names().await,
        BTreeSet::from(["a.test".to_string(), "b.test".to_string()])
    );
    assert_eq!(rig.walks(), 4);
    // Watching works again: the next walk is reused.
    rig.src.simulate_watch_failure(false);
    let _ = rig.names().await;
    rig.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_interval_zero_and_disabled_watch_always_walk() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("certs");
    write(&root.join("a.pem"), &cert_pem("a.test"));
    let mut cfg = config(&[&root]);
    cfg.watch.verify_interval = Duration::ZERO;
    let mut rig = Rig::new(cfg);
    for _ in 0..3 {
        assert_eq!(rig.names().await.len(), 1);
    }
    assert_eq!(rig.walks(), 3);
    assert!(
        rig.src.stats().watching,
        "still watching for prompt rescans"
    );

    let mut cfg = config(&[&root]);
    cfg.watch.enabled = WatchEnabled::Off;
    let mut rig = Rig::new(cfg);
    for _ in 0..3 {
        assert_eq!(rig.names().await.len(), 1);
    }
    assert_eq!(rig.walks(), 3);
    assert!(!rig.src.stats().watching);
}

/// The one-shot `scan` command never attaches a rescan signal: no watcher.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_scraper_creates_no_watcher() {
    let t = tempfile::tempdir().expect("tempdir");
    let root: PathBuf = t.path().join("certs");
    write(&root.join("a.pem"), &cert_pem("a.test"));
    let src = Arc::new(FileSource::new(config(&[&root])));
    let mut scraper = Scraper::new(
        vec![src.clone() as Arc<dyn Source>],
        Duration::from_secs(600),
    );
    let _ = scraper.scan(chrono::Utc::now()).await;
    let _ = scraper.scan(chrono::Utc::now()).await;
    let s = src.stats();
    assert!(!s.watching);
    assert_eq!(s.walks, 2);
}
