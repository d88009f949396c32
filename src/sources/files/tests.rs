use super::*;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{symlink, PermissionsExt};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const PEM: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn cfg(kind: SourceKind, paths: &[&Path]) -> FileSourceConfig {
    FileSourceConfig {
        kind,
        name: "t".into(),
        paths: paths.iter().map(|p| show(p)).collect(),
        exclude: Vec::new(),
        follow_symlinks: true,
        max_file_size: 1 << 20,
        pkcs12_passwords: Vec::new(),
        try_empty_password: true,
        keystore_passwords: Vec::new(),
        max_files: 200_000,
        watch: Default::default(),
    }
}

fn run_with(src: &FileSource, prev: &HashMap<String, String>) -> SourceOutput {
    src.scan_blocking(prev, &AtomicBool::new(false), None)
}

fn run(c: FileSourceConfig) -> SourceOutput {
    run_with(&FileSource::new(c), &HashMap::new())
}

fn items(out: &SourceOutput) -> Vec<&Item> {
    out.objects
        .iter()
        .flat_map(|o| match &o.content {
            Content::Fresh { items, .. } => items.iter().collect::<Vec<_>>(),
            Content::Unchanged | Content::Metadata(_) | Content::Parsed { .. } => Vec::new(),
        })
        .collect()
}

fn item_paths(out: &SourceOutput) -> Vec<String> {
    let mut v: Vec<String> = items(out).iter().map(|i| i.sref.location.clone()).collect();
    v.sort();
    v
}

fn errors(out: &SourceOutput) -> Vec<(Reason, String)> {
    out.objects
        .iter()
        .flat_map(|o| match &o.content {
            Content::Fresh { errors, .. } => errors
                .iter()
                .map(|e| (e.reason, e.source.location.clone()))
                .collect::<Vec<_>>(),
            Content::Unchanged | Content::Metadata(_) | Content::Parsed { .. } => Vec::new(),
        })
        .collect()
}

fn versions(out: &SourceOutput) -> HashMap<String, String> {
    out.objects
        .iter()
        .filter_map(|o| o.version.clone().map(|v| (o.key.clone(), v)))
        .collect()
}

fn write(p: &Path, data: &[u8]) {
    if let Some(d) = p.parent() {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(p, data).unwrap();
}

#[test]
fn nested_directories_and_labels() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(&r.join("a.pem"), PEM);
    write(&r.join("x/b.crt"), PEM);
    write(&r.join("x/y/z/c.der"), b"\x30\x03\x02\x01\x01");
    let out = run(cfg(SourceKind::File, &[r]));
    assert!(out.failure.is_none());
    assert_eq!(
        item_paths(&out),
        vec![
            show(&r.join("a.pem")),
            show(&r.join("x/b.crt")),
            show(&r.join("x/y/z/c.der"))
        ]
    );
    let it = items(&out)
        .into_iter()
        .find(|i| i.sref.location.ends_with("b.crt"))
        .unwrap();
    assert_eq!(it.sref.kind, SourceKind::File);
    assert_eq!(it.sref.name, "t");
    assert_eq!(it.sref.label("filename"), Some("b.crt"));
    assert_eq!(
        it.sref.label("filepath"),
        Some(show(&r.join("x/b.crt")).as_str())
    );
    assert_eq!(it.sref.label("embedded_kind"), None);
    assert_eq!(it.data, PEM);
    assert_eq!(it.hint, FormatHint::Auto);
    assert!(errors(&out).is_empty());
}

#[test]
fn glob_double_star_and_single_star() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(&r.join("top.pem"), PEM);
    write(&r.join("top.txt"), PEM);
    write(&r.join("a/one.pem"), PEM);
    write(&r.join("a/b/c/two.pem"), PEM);
    write(&r.join("a/b/c/two.key"), PEM);
    write(&r.join("other/three.pem"), PEM);
    let pat = format!("{}/a/**/*.pem", show(r));
    let mut c = cfg(SourceKind::File, &[]);
    c.paths = vec![pat];
    let out = run(c);
    assert_eq!(
        item_paths(&out),
        vec![show(&r.join("a/b/c/two.pem")), show(&r.join("a/one.pem"))]
    );
    let mut c = cfg(SourceKind::File, &[]);
    c.paths = vec![
        format!("{}/*.pem", show(r)),
        format!("{}/*/three.p?m", show(r)),
    ];
    let out = run(c);
    assert_eq!(
        item_paths(&out),
        vec![show(&r.join("other/three.pem")), show(&r.join("top.pem"))]
    );
    // A glob matching a directory walks it.
    let mut c = cfg(SourceKind::File, &[]);
    c.paths = vec![format!("{}/[o]ther", show(r))];
    assert_eq!(item_paths(&run(c)), vec![show(&r.join("other/three.pem"))]);
}

#[test]
fn relative_paths_and_globs() {
    // Relative to the test's working directory (the crate root); no chdir.
    // `target/` need not exist (CARGO_TARGET_DIR elsewhere).
    std::fs::create_dir_all("target").unwrap();
    let t = tempfile::tempdir_in("target").unwrap();
    let abs = t.path();
    let name = abs.file_name().unwrap().to_string_lossy().into_owned();
    write(&abs.join("s/a.pem"), PEM);
    write(&abs.join("s/b.txt"), PEM);
    let mut c = cfg(SourceKind::File, &[]);
    c.paths = vec![
        format!("target/{name}/s/*.pem"),
        format!("./target/{name}/s"),
    ];
    let out = run(c);
    assert_eq!(
        item_paths(&out),
        vec![
            format!("./target/{name}/s/b.txt"),
            format!("target/{name}/s/a.pem"),
        ]
    );
}

#[test]
fn missing_paths_are_quiet() {
    let t = tempfile::tempdir().unwrap();
    let out = run(cfg(
        SourceKind::File,
        &[&t.path().join("nope"), &t.path().join("nope/*.pem")],
    ));
    assert!(out.failure.is_none());
    assert!(out.objects.is_empty());
}

#[test]
fn relative_excludes_match_any_tail() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(&r.join("openssl.cnf"), b"x");
    write(&r.join("a/private/x.pem"), PEM);
    write(&r.join("a/keep.pem"), PEM);
    let mut c = cfg(SourceKind::File, &[r]);
    c.exclude = vec!["**/*.cnf".into(), "private/*.pem".into()];
    let out = run(c);
    assert_eq!(item_paths(&out), vec![show(&r.join("a/keep.pem"))]);
    assert!(errors(&out).is_empty());
}

#[test]
fn excludes_prune() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(&r.join("keep.pem"), PEM);
    write(&r.join("drop.key"), PEM);
    write(&r.join("skip/inner.pem"), PEM);
    write(&r.join("sub/deep.key"), PEM);
    write(&r.join("sub/deep.pem"), PEM);
    let mut c = cfg(SourceKind::File, &[r]);
    c.exclude = vec!["*.key".into(), format!("{}/skip", show(r))];
    let out = run(c);
    assert_eq!(
        item_paths(&out),
        vec![show(&r.join("keep.pem")), show(&r.join("sub/deep.pem"))]
    );
    // An excluded directory is not descended: even an unreadable tree below is not touched.
    let mut c = cfg(SourceKind::File, &[r]);
    c.exclude = vec![format!("{}/**", show(&r.join("sub")))];
    let out = run(c);
    assert!(!item_paths(&out).iter().any(|p| p.contains("/sub/")));
}

#[test]
fn symlinks_followed_and_deduplicated() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let real = tempfile::tempdir().unwrap();
    write(&real.path().join("d/inner.pem"), PEM);
    write(&real.path().join("f.pem"), PEM);
    write(&r.join("own.pem"), PEM);
    symlink(real.path().join("d"), r.join("linkdir")).unwrap();
    symlink(real.path().join("f.pem"), r.join("linkfile.pem")).unwrap();
    // Second route to own.pem: deduplicated by inode.
    symlink(r.join("own.pem"), r.join("zz-alias.pem")).unwrap();
    let out = run(cfg(SourceKind::File, &[r]));
    assert_eq!(
        item_paths(&out),
        vec![
            show(&r.join("linkdir/inner.pem")),
            show(&r.join("linkfile.pem")),
            show(&r.join("own.pem")),
        ]
    );
    // Not following: symlinks met during the walk are skipped.
    let mut c = cfg(SourceKind::File, &[r]);
    c.follow_symlinks = false;
    assert_eq!(item_paths(&run(c)), vec![show(&r.join("own.pem"))]);
    // ... but a configured root that is a symlink is resolved.
    let mut c = cfg(SourceKind::File, &[&r.join("linkfile.pem")]);
    c.follow_symlinks = false;
    assert_eq!(item_paths(&run(c)), vec![show(&r.join("linkfile.pem"))]);
}

#[test]
fn broken_symlink_is_reported() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    symlink(r.join("missing.pem"), r.join("dangling.pem")).unwrap();
    symlink(r.join("b"), r.join("a")).unwrap();
    symlink(r.join("a"), r.join("b")).unwrap();
    let out = run(cfg(SourceKind::File, &[r]));
    let mut errs = errors(&out);
    errs.sort();
    assert_eq!(
        errs,
        vec![
            (Reason::BrokenSymlink, show(&r.join("a"))),
            (Reason::BrokenSymlink, show(&r.join("b"))),
            (Reason::BrokenSymlink, show(&r.join("dangling.pem"))),
        ]
    );
    assert!(out.failure.is_none());
    // Not following: quietly skipped.
    let mut c = cfg(SourceKind::File, &[r]);
    c.follow_symlinks = false;
    assert!(run(c).objects.is_empty());
    // As a configured root.
    let out = run(cfg(SourceKind::File, &[&r.join("dangling.pem")]));
    assert_eq!(
        errors(&out),
        vec![(Reason::BrokenSymlink, show(&r.join("dangling.pem")))]
    );
}

#[test]
fn symlink_loop_terminates() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(&r.join("d/e/c.pem"), PEM);
    symlink(r, r.join("d/e/up")).unwrap();
    symlink(r.join("d"), r.join("d/self")).unwrap();
    let out = run(cfg(SourceKind::File, &[r]));
    assert_eq!(item_paths(&out), vec![show(&r.join("d/e/c.pem"))]);
    assert!(errors(&out).is_empty());
    // Through a `**` glob as well.
    let mut c = cfg(SourceKind::File, &[]);
    c.paths = vec![format!("{}/**/*.pem", show(r))];
    assert_eq!(item_paths(&run(c)), vec![show(&r.join("d/e/c.pem"))]);
}

#[test]
fn size_cap_from_metadata() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(&r.join("big.pem"), &[b'A'; 100]);
    write(&r.join("ok.pem"), &[b'A'; 10]);
    // A sparse 64 GiB file: reading it would take ages.
    let huge = File::create(r.join("huge.pem")).unwrap();
    huge.set_len(64 << 30).unwrap();
    let mut c = cfg(SourceKind::File, &[r]);
    c.max_file_size = 10;
    let out = run(c);
    assert_eq!(item_paths(&out), vec![show(&r.join("ok.pem"))]);
    let mut errs = errors(&out);
    errs.sort();
    assert_eq!(
        errs,
        vec![
            (Reason::TooLarge, show(&r.join("big.pem"))),
            (Reason::TooLarge, show(&r.join("huge.pem"))),
        ]
    );
}

#[test]
fn file_renamed_over_between_stat_and_read_is_read_not_an_error() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("c.pem");
    write(&p, b"OLD");
    let meta = fs::metadata(&p).unwrap();
    // An atomic save after the walk's stat: a new inode at the same path.
    let tmp = t.path().join("c.pem.tmp");
    write(&tmp, b"NEW CONTENT");
    fs::rename(&tmp, &p).unwrap();
    assert_ne!(fs::metadata(&p).unwrap().ino(), meta.ino());
    assert_eq!(read_regular(&p, &meta, 100).unwrap(), b"NEW CONTENT");
    // Still capped: the new file's size is checked before reading.
    write(&tmp, &[b'A'; 200]);
    fs::rename(&tmp, &p).unwrap();
    let err = read_regular(&p, &meta, 100).unwrap_err();
    assert_eq!(err.reason, Reason::TooLarge);
    // Deleted between stat and read: not_found, which the walk treats as gone.
    fs::remove_file(&p).unwrap();
    assert_eq!(
        read_regular(&p, &meta, 100).unwrap_err().reason,
        Reason::NotFound
    );
}

#[test]
fn file_grown_past_cap_while_reading() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("g.pem");
    write(&p, &[b'A'; 5]);
    let meta = fs::metadata(&p).unwrap();
    write(&p, &[b'A'; 50]);
    let err = read_regular(&p, &meta, 10).unwrap_err();
    assert_eq!(err.reason, Reason::TooLarge);
}

#[test]
fn fifo_and_specials_are_never_opened() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(&r.join("a.pem"), PEM);
    let st = std::process::Command::new("mkfifo")
        .arg(r.join("pipe.pem"))
        .status()
        .unwrap();
    assert!(st.success());
    // A walk that opened the FIFO would block forever (no writer). A special file
    // in a walked directory is a located read_failed error, never opened.
    let out = run(cfg(SourceKind::File, &[r]));
    assert_eq!(item_paths(&out), vec![show(&r.join("a.pem"))]);
    assert_eq!(
        errors(&out),
        vec![(Reason::ReadFailed, show(&r.join("pipe.pem")))]
    );
    let msg = error_messages(&out).join(" ");
    assert!(msg.contains("not a regular file (FIFO)"), "{msg}");
    // Named explicitly: the same error.
    let out = run(cfg(SourceKind::File, &[&r.join("pipe.pem")]));
    assert_eq!(
        errors(&out),
        vec![(Reason::ReadFailed, show(&r.join("pipe.pem")))]
    );
    // Also via a symlink to the FIFO, and a glob: one error (one inode), under the
    // first path reached.
    symlink(r.join("pipe.pem"), r.join("l.pem")).unwrap();
    let mut c = cfg(SourceKind::File, &[]);
    c.paths = vec![format!("{}/*.pem", show(r))];
    let out = run(c);
    assert_eq!(item_paths(&out), vec![show(&r.join("a.pem"))]);
    assert_eq!(
        errors(&out),
        vec![(Reason::ReadFailed, show(&r.join("l.pem")))]
    );
    // A glob that does not match the FIFO says nothing about it.
    let mut c = cfg(SourceKind::File, &[]);
    c.paths = vec![format!("{}/a.*", show(r))];
    assert!(errors(&run(c)).is_empty());
    // /dev/null is a character device.
    let out = run(cfg(SourceKind::File, &[Path::new("/dev/null")]));
    assert_eq!(errors(&out), vec![(Reason::ReadFailed, "/dev/null".into())]);
    assert!(error_messages(&out)[0].contains("character device"));
    // read_regular refuses a FIFO even if it was stat'ed as a regular file.
    let meta = fs::metadata(r.join("a.pem")).unwrap();
    let err = read_regular(&r.join("pipe.pem"), &meta, 100).unwrap_err();
    assert_eq!(err.reason, Reason::ReadFailed);
}

fn error_messages(out: &SourceOutput) -> Vec<String> {
    out.objects
        .iter()
        .flat_map(|o| match &o.content {
            Content::Fresh { errors, .. } => {
                errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>()
            }
            Content::Unchanged | Content::Metadata(_) | Content::Parsed { .. } => Vec::new(),
        })
        .collect()
}

#[test]
fn max_file_size_above_the_parser_cap_is_clamped() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(&r.join("ok.pem"), PEM);
    // Sparse: 65 MiB, above the parser's 64 MiB but below the configured 100 MiB.
    let big = File::create(r.join("big.pem")).unwrap();
    big.set_len(65 << 20).unwrap();
    let mut c = cfg(SourceKind::File, &[r]);
    c.max_file_size = 100 << 20;
    let src = FileSource::new(c);
    assert_eq!(src.cfg.max_file_size, crate::parse::MAX_OBJECT_LEN as u64);
    let out = run_with(&src, &HashMap::new());
    // Not read (no 65 MiB item handed to the parser): too_large from the size.
    assert_eq!(item_paths(&out), vec![show(&r.join("ok.pem"))]);
    assert_eq!(
        errors(&out),
        vec![(Reason::TooLarge, show(&r.join("big.pem")))]
    );
    assert!(error_messages(&out)[0].contains("exceeds the limit of 67108864 bytes"));
    // At or below the cap nothing changes.
    let mut c = cfg(SourceKind::File, &[r]);
    c.max_file_size = 64 << 20;
    assert_eq!(FileSource::new(c).cfg.max_file_size, 64 << 20);
}

/// A kubelet atomic-writer volume: `tls.crt -> ..data/tls.crt`,
/// `..data -> ..<timestamp>`. The certificate is labelled with the stable path.
#[test]
fn kubernetes_data_volume_labelled_with_the_stable_path() {
    let t = tempfile::tempdir().unwrap();
    let vol = t.path().join("tls");
    let ts = "..2026_12_07_10_00_00.123456789";
    write(&vol.join(ts).join("tls.crt"), PEM);
    write(&vol.join(ts).join("sub/ca.crt"), PEM);
    symlink(ts, vol.join("..data")).unwrap();
    symlink("..data/tls.crt", vol.join("tls.crt")).unwrap();
    symlink("..data/sub", vol.join("sub")).unwrap();
    // A plain file and a dot-dot-named file outside a writer directory keep
    // their order and paths.
    write(&t.path().join("other/..odd.pem"), PEM);
    write(&t.path().join("other/b.pem"), PEM);
    let out = run(cfg(SourceKind::File, &[t.path()]));
    assert_eq!(
        item_paths(&out),
        vec![
            show(&t.path().join("other/..odd.pem")),
            show(&t.path().join("other/b.pem")),
            show(&vol.join("sub/ca.crt")),
            show(&vol.join("tls.crt")),
        ]
    );
    let stable = show(&vol.join("tls.crt"));
    let it = items(&out)
        .into_iter()
        .find(|i| i.sref.location == stable)
        .unwrap();
    assert_eq!(it.sref.label("filepath"), Some(stable.as_str()));
    assert!(errors(&out).is_empty());
    // After the kubelet's update the path is the same.
    let ts2 = "..2026_12_08_10_00_00.000000001";
    write(&vol.join(ts2).join("tls.crt"), PEM);
    write(&vol.join(ts2).join("sub/ca.crt"), PEM);
    symlink(ts2, vol.join("..data_tmp")).unwrap();
    fs::rename(vol.join("..data_tmp"), vol.join("..data")).unwrap();
    fs::remove_dir_all(vol.join(ts)).unwrap();
    let out = run(cfg(SourceKind::File, &[&vol]));
    assert_eq!(
        item_paths(&out),
        vec![show(&vol.join("sub/ca.crt")), stable.clone()]
    );
    // Without follow_symlinks the visible links are skipped: the files are still
    // found, under the timestamped directory.
    let mut c = cfg(SourceKind::File, &[&vol]);
    c.follow_symlinks = false;
    assert_eq!(
        item_paths(&run(c)),
        vec![
            show(&vol.join(ts2).join("sub/ca.crt")),
            show(&vol.join(ts2).join("tls.crt")),
        ]
    );
}

#[test]
fn kubeconfig_references_confined_to_the_configured_paths() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("scanned");
    let outside = t.path().join("outside");
    write(&outside.join("exists.crt"), PEM);
    write(&root.join("pki/inside.crt"), PEM);
    let kc = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: a
  cluster:
    certificate-authority: {o}/exists.crt
- name: b
  cluster:
    certificate-authority: {o}/missing.crt
- name: c
  cluster:
    certificate-authority: ../pki/inside.crt
- name: d
  cluster:
    certificate-authority: ../../outside/exists.crt
",
        o = show(&outside)
    );
    write(&root.join("kube/config"), kc.as_bytes());
    let kp = show(&root.join("kube/config"));
    let msgs = |out: &SourceOutput| -> Vec<(Reason, String, String)> {
        let mut v: Vec<_> = out
            .objects
            .iter()
            .flat_map(|o| match &o.content {
                Content::Fresh { errors, .. } => errors
                    .iter()
                    .map(|e| (e.reason, e.source.location.clone(), e.message.clone()))
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect();
        v.sort();
        v
    };
    for kind in [SourceKind::File, SourceKind::Kubeconfig] {
        // Found in a walked directory: only the inside reference is followed.
        let mut c = cfg(kind, &[&root]);
        c.exclude = vec!["*.crt".into()];
        let out = run(c);
        let its = items(&out);
        assert_eq!(
            its.iter()
                .filter_map(|i| i.sref.label("filepath"))
                .collect::<Vec<_>>(),
            vec![show(&root.join("kube/../pki/inside.crt")).as_str()],
            "{kind:?}"
        );
        let errs = msgs(&out);
        assert_eq!(errs.len(), 3, "{errs:?}");
        // The existing and the missing outside file: the same reason and the same
        // message apart from the path (nothing tells whether it exists).
        for (reason, loc, msg) in &errs {
            assert_eq!(*reason, Reason::ReadFailed);
            assert!(loc.starts_with(&format!("{kp}:clusters/")), "{loc}");
            assert!(
                msg.ends_with("is outside the configured paths of this source; not followed"),
                "{msg}"
            );
        }
        let a = &errs[0].2.replace("exists.crt", "X");
        let b = &errs[1].2.replace("missing.crt", "X");
        assert_eq!(a, b);
    }
    // A glob of a `file` source matching the kubeconfig: still confined (the file
    // was recognised by its content).
    let mut c = cfg(SourceKind::File, &[]);
    c.paths = vec![format!("{}/*/config", show(&root))];
    assert_eq!(msgs(&run(c)).len(), 3);
    // Outside paths added to `paths` are followed.
    let out = run(cfg(SourceKind::File, &[&root, &outside]));
    let errs = msgs(&out);
    assert_eq!(
        errs.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![Reason::NotFound],
        "{errs:?}"
    );
    // Named by the configuration (the file itself, or a kubeconfig source's glob):
    // references are followed anywhere, as before.
    for paths in [vec![kp.clone()], vec![format!("{}/kube/*", show(&root))]] {
        let mut c = cfg(SourceKind::Kubeconfig, &[]);
        c.paths = paths;
        let out = run(c);
        assert_eq!(items(&out).len(), 3);
        assert_eq!(
            msgs(&out).iter().map(|e| e.0).collect::<Vec<_>>(),
            vec![Reason::NotFound]
        );
    }
    let out = run(cfg(SourceKind::File, &[&root.join("kube/config")]));
    assert_eq!(items(&out).len(), 3);
}

#[test]
fn lexical_normalisation() {
    use super::kubeconf::normalise;
    assert_eq!(normalise(Path::new("/a/b/../c/./d")), Path::new("/a/c/d"));
    assert_eq!(normalise(Path::new("/../../etc")), Path::new("/etc"));
    assert_eq!(normalise(Path::new("a/../../b")), Path::new("../b"));
    assert_eq!(normalise(Path::new("../../b")), Path::new("../../b"));
    assert!(!super::kubeconf::within_roots(
        &["/srv/k".into()],
        Path::new("/srv/k/../kx/ca.crt")
    ));
    assert!(!super::kubeconf::within_roots(
        &["/srv/k".into()],
        Path::new("/srv/kx/ca.crt")
    ));
    assert!(super::kubeconf::within_roots(
        &["/srv/*/conf".into()],
        Path::new("/srv/other/x/../ca.crt")
    ));
}

#[test]
fn non_utf8_names() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let n1 = r.join(OsString::from_vec(b"\xff.pem".to_vec()));
    let n2 = r.join(OsString::from_vec(b"\xfe.pem".to_vec()));
    let n3 = r.join(["\\", "xff.pem"].concat());
    write(&n1, PEM);
    write(&n2, PEM);
    write(&n3, PEM);
    let mut c = cfg(SourceKind::File, &[]);
    c.paths = vec![format!("{}/*.pem", show(r))];
    let out = run(c);
    assert_eq!(out.objects.len(), 3);
    let keys: HashSet<&str> = out.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys.len(), 3, "keys must be unique: {keys:?}");
    assert!(keys.iter().any(|k| k.ends_with("/\\xff.pem")));
    assert!(keys.iter().any(|k| k.ends_with("/\\xfe.pem")));
    assert!(keys.iter().any(|k| k.ends_with("/\\\\xff.pem")));
    let lossy = items(&out)
        .iter()
        .filter(|i| i.sref.location.contains('\u{fffd}'))
        .count();
    assert_eq!(lossy, 2);
    assert!(items(&out)
        .iter()
        .any(|i| i.sref.label("filename") == Some("\u{fffd}.pem")));
    // Excludes work on raw bytes too.
    let mut c = cfg(SourceKind::File, &[r]);
    c.exclude = vec!["[!\\]*.pem".into()];
    let out = run(c);
    assert_eq!(item_paths(&out), vec![show(&n3)]);
}

fn many_files(n: usize) {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for i in 0..n {
        fs::write(r.join(format!("f{i:06}.pem")), b"x").unwrap();
    }
    let src = FileSource::new(cfg(SourceKind::File, &[r]));
    let out = run_with(&src, &HashMap::new());
    assert!(out.failure.is_none());
    assert_eq!(out.objects.len(), n);
    assert!(errors(&out).is_empty());
    // Second scan: nothing is re-read.
    let out2 = run_with(&src, &versions(&out));
    assert_eq!(out2.objects.len(), n);
    assert!(out2
        .objects
        .iter()
        .all(|o| matches!(o.content, Content::Unchanged)));
}

#[test]
fn ten_thousand_files() {
    many_files(10_000);
}

/// The 100k-files case (default limit is 200k): one directory holding 100,000
/// files is walked completely, and the warm re-scan re-reads none of them.
#[test]
fn hundred_thousand_files() {
    many_files(100_000);
}

#[test]
fn file_limit_stops_walk() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for i in 0..50 {
        write(&r.join(format!("d{}/f{i}.pem", i % 3)), b"x");
    }
    let mut c = cfg(SourceKind::File, &[r]);
    c.max_files = 20;
    let out = run(c);
    let errs = errors(&out);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Reason::ReadFailed);
    let msg = out
        .objects
        .iter()
        .find_map(|o| match &o.content {
            Content::Fresh { errors, .. } => errors.first().map(|e| e.message.clone()),
            _ => None,
        })
        .unwrap();
    assert!(msg.contains("file limit reached"), "{msg}");
    assert!(items(&out).len() < 20);
    assert!(out.failure.is_none());
}

#[test]
fn file_limit_with_excluded_names_in_one_directory() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for i in 0..30 {
        write(&r.join(format!("f{i:02}.key")), b"x");
    }
    write(&r.join("z.pem"), b"x");
    let mut c = cfg(SourceKind::File, &[r]);
    c.max_files = 5;
    c.exclude = vec!["*.key".into()];
    let out = run(c);
    // z.pem was never listed: that must be visible as the limit error.
    assert_eq!(errors(&out).len(), 1);
    assert_eq!(errors(&out)[0].0, Reason::ReadFailed);
}

#[test]
fn change_detection() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(&r.join("a.pem"), PEM);
    write(&r.join("b.pem"), PEM);
    let src = FileSource::new(cfg(SourceKind::File, &[r]));
    let out1 = run_with(&src, &HashMap::new());
    let v1 = versions(&out1);
    assert_eq!(v1.len(), 2);
    let a_key = show(&r.join("a.pem"));
    let parts: Vec<&str> = v1[&a_key].split(':').collect();
    assert_eq!(parts.len(), 5, "dev:ino:size:mtime_ns:ctime_ns");
    let out2 = run_with(&src, &v1);
    assert!(out2
        .objects
        .iter()
        .all(|o| matches!(o.content, Content::Unchanged)));
    assert_eq!(versions(&out2), v1);
    // Rewrite a.pem (different size): re-read.
    write(&r.join("a.pem"), b"changed");
    let out3 = run_with(&src, &v1);
    for o in &out3.objects {
        if o.key == a_key {
            match &o.content {
                Content::Fresh { items, .. } => assert_eq!(items[0].data, b"changed"),
                Content::Unchanged | Content::Metadata(_) | Content::Parsed { .. } => {
                    panic!("a.pem changed but reported unchanged")
                }
            }
        } else {
            assert!(matches!(o.content, Content::Unchanged));
        }
    }
    // Same size, touched (mtime/ctime change).
    let v3 = versions(&out3);
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(&r.join("b.pem"), PEM);
    let out4 = run_with(&src, &v3);
    let b = out4
        .objects
        .iter()
        .find(|o| o.key == show(&r.join("b.pem")))
        .unwrap();
    assert!(matches!(b.content, Content::Fresh { .. }));
}

fn kubeconfig_yaml(ca_b64: &str, key_b64: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: {ca_b64}
- name: staging
  cluster:
    certificate-authority: pki/ca.crt
users:
- name: admin
  user:
    client-certificate: pki/admin.crt
    client-key-data: {key_b64}
- name: broken
  user:
    client-certificate-data: '@@not base64@@'
- name: gone
  user:
    client-certificate: /nonexistent/certvigil/x.crt
"
    )
}

#[test]
fn kubeconfig_embedded_referenced_and_key_never_decoded() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let ca = rcgen::generate_simple_self_signed(vec!["ca.test".to_string()]).unwrap();
    let ca_pem = ca.cert.pem();
    let admin = rcgen::generate_simple_self_signed(vec!["admin".to_string()]).unwrap();
    write(&r.join("pki/ca.crt"), b"REFERENCED-CA");
    write(&r.join("pki/admin.crt"), admin.cert.pem().as_bytes());
    // A recognisable marker in the key material.
    let key_marker = b"PRIVATE-KEY-MARKER-1234567890";
    let key_b64 = STANDARD.encode(key_marker);
    let kc = r.join("kube/config");
    write(
        &kc,
        kubeconfig_yaml(&STANDARD.encode(ca_pem.as_bytes()), &key_b64).as_bytes(),
    );
    // The kubeconfig references pki/ relative to its own directory.
    fs::rename(r.join("pki"), r.join("kube/pki")).unwrap();
    let src = FileSource::new(cfg(SourceKind::Kubeconfig, &[&kc]));
    let out = run_with(&src, &HashMap::new());
    assert!(out.failure.is_none());
    assert_eq!(out.objects.len(), 1, "one object per kubeconfig");
    let its = items(&out);
    assert_eq!(its.len(), 3);
    let kp = show(&kc);
    let by_loc = |suffix: &str| {
        its.iter()
            .find(|i| i.sref.location == format!("{kp}:{suffix}"))
            .unwrap_or_else(|| panic!("no item {suffix}"))
    };
    let e = by_loc("clusters/prod/certificate-authority-data");
    assert_eq!(e.data, ca_pem.as_bytes());
    assert_eq!(e.sref.kind, SourceKind::Kubeconfig);
    assert_eq!(e.sref.label("filename"), Some("config"));
    assert_eq!(e.sref.label("filepath"), Some(kp.as_str()));
    assert_eq!(e.sref.label("embedded_kind"), Some("cluster"));
    assert_eq!(e.sref.label("embedded_key"), Some("prod"));
    let f = by_loc("clusters/staging/certificate-authority");
    assert_eq!(f.data, b"REFERENCED-CA");
    assert_eq!(
        f.sref.label("filepath"),
        Some(show(&r.join("kube/pki/ca.crt")).as_str())
    );
    assert_eq!(f.sref.label("filename"), Some("ca.crt"));
    assert_eq!(f.sref.label("embedded_kind"), Some("cluster"));
    assert_eq!(f.sref.label("embedded_key"), Some("staging"));
    let u = by_loc("users/admin/client-certificate");
    assert_eq!(u.data, admin.cert.pem().as_bytes());
    assert_eq!(u.sref.label("embedded_kind"), Some("user"));
    // The key is never in any item, neither decoded nor base64.
    for i in &its {
        assert!(!i.data.windows(key_marker.len()).any(|w| w == key_marker));
        assert!(!i
            .data
            .windows(key_b64.len())
            .any(|w| w == key_b64.as_bytes()));
    }
    let mut errs = errors(&out);
    errs.sort();
    assert_eq!(
        errs,
        vec![
            (
                Reason::NotFound,
                format!("{kp}:users/gone/client-certificate")
            ),
            (
                Reason::DecodeFailed,
                format!("{kp}:users/broken/client-certificate-data")
            ),
        ]
    );

    // Version covers referenced files: unchanged → Unchanged; a rewritten
    // referenced file → Fresh.
    let v = versions(&out);
    assert_eq!(v[&kp].matches('|').count(), 3);
    let out2 = run_with(&src, &v);
    assert!(matches!(out2.objects[0].content, Content::Unchanged));
    write(&r.join("kube/pki/ca.crt"), b"REFERENCED-CA-ROTATED");
    let out3 = run_with(&src, &versions(&out2));
    assert!(matches!(out3.objects[0].content, Content::Fresh { .. }));
    assert!(items(&out3)
        .iter()
        .any(|i| i.data == b"REFERENCED-CA-ROTATED"));
}

#[test]
fn kubeconfig_found_by_file_source_and_invalid_ones() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let ca_b64 = STANDARD.encode(PEM);
    write(
        &r.join("dir/.kube/config"),
        kubeconfig_yaml(&ca_b64, "a2V5").as_bytes(),
    );
    write(&r.join("dir/plain.pem"), PEM);
    // Looks like a kubeconfig but is not YAML: a plain file for the parser.
    write(
        &r.join("dir/notes.txt"),
        b"clusters: [ certificate-authority-data: {{{ ",
    );
    let out = run(cfg(SourceKind::File, &[&r.join("dir")]));
    let its = items(&out);
    let kube_items = its
        .iter()
        .filter(|i| i.sref.label("embedded_kind").is_some())
        .count();
    assert_eq!(
        kube_items, 1,
        "only the embedded CA (referenced files missing)"
    );
    assert!(its.iter().all(|i| i.sref.kind == SourceKind::File));
    assert!(its.iter().any(|i| i.sref.location.ends_with("plain.pem")));
    assert!(its.iter().any(|i| i.sref.location.ends_with("notes.txt")));
    // In a kubeconfig source, invalid YAML is a decode error; zero entries is nothing.
    write(&r.join("k/bad"), b"clusters: [ {{{ ");
    write(
        &r.join("k/tokens"),
        b"users:\n- name: x\n  user:\n    token: abc\n",
    );
    let out = run(cfg(SourceKind::Kubeconfig, &[&r.join("k")]));
    assert_eq!(
        errors(&out),
        vec![(Reason::DecodeFailed, show(&r.join("k/bad")))]
    );
    assert!(items(&out).is_empty());
    assert_eq!(out.objects.len(), 2);
}

#[test]
fn path_keys_are_unique_and_stable() {
    assert_eq!(path_key(Path::new("/a/b.pem")), "/a/b.pem");
    let raw = Path::new(OsStr::from_bytes(b"/a/\xffb"));
    assert_eq!(path_key(raw), "/a/\\xffb");
    assert_eq!(path_key(Path::new("/a/\\xffb")), "/a/\\\\xffb");
}

#[tokio::test]
async fn scan_through_the_trait() {
    let t = tempfile::tempdir().unwrap();
    write(&t.path().join("a.pem"), PEM);
    let src = Arc::new(FileSource::new(cfg(SourceKind::File, &[t.path()])));
    assert_eq!(src.kinds(), vec![SourceKind::File]);
    assert_eq!(src.name(), "t");
    let ctx = ScanCtx {
        now: chrono::Utc::now(),
        prev_versions: Arc::new(HashMap::new()),
    };
    let out = src.clone().scan(ctx).await;
    assert_eq!(items(&out).len(), 1);
}

/// Whether the current process bypasses file permissions (root).
fn permissions_bypassed(dir: &Path) -> bool {
    let p = dir.join("probe");
    write(&p, b"x");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
    File::open(&p).is_ok()
}

/// Permission checks; meaningful only without root privileges. When run as root,
/// `permission_denied` re-executes this test as `nobody` via `setpriv`.
#[test]
#[ignore]
fn unprivileged_permission_checks() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    if permissions_bypassed(r) {
        eprintln!("SKIPPED: permissions are not enforced for this user");
        return;
    }
    fs::remove_file(r.join("probe")).unwrap();
    write(&r.join("ok.pem"), PEM);
    write(&r.join("secret.pem"), PEM);
    write(&r.join("closed/inner.pem"), PEM);
    write(&r.join("big-and-closed.pem"), &[b'A'; 100]);
    fs::set_permissions(r.join("secret.pem"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(
        r.join("big-and-closed.pem"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    fs::set_permissions(r.join("closed"), fs::Permissions::from_mode(0o000)).unwrap();
    let mut c = cfg(SourceKind::File, &[r]);
    c.max_file_size = 80;
    let out = run(c);
    assert!(out.failure.is_none());
    assert_eq!(item_paths(&out), vec![show(&r.join("ok.pem"))]);
    let mut errs = errors(&out);
    errs.sort();
    assert_eq!(
        errs,
        vec![
            (Reason::PermissionDenied, show(&r.join("closed"))),
            (Reason::PermissionDenied, show(&r.join("secret.pem"))),
            // Size is decided from metadata: the unreadable file is never opened.
            (Reason::TooLarge, show(&r.join("big-and-closed.pem"))),
        ]
    );
    // Every root unreadable → source-level failure.
    let out = run(cfg(SourceKind::File, &[&r.join("closed")]));
    let f = out.failure.expect("source failure");
    assert_eq!(f.reason, Reason::PermissionDenied);
    assert!(out.objects.is_empty());
    fs::set_permissions(r.join("closed"), fs::Permissions::from_mode(0o755)).unwrap();
    eprintln!("PASSED: unprivileged permission checks");
}

#[test]
fn permission_denied() {
    let t = tempfile::tempdir().unwrap();
    if !permissions_bypassed(t.path()) {
        unprivileged_permission_checks();
        return;
    }
    // Root: drop privileges by re-running the ignored test as `nobody`.
    let exe = std::env::current_exe().unwrap();
    let res = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&exe)
        .args([
            "--exact",
            "sources::files::tests::unprivileged_permission_checks",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TMPDIR", "/tmp")
        .output();
    match res {
        Ok(o) => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            let stdout = String::from_utf8_lossy(&o.stdout);
            if stderr.contains("PASSED: unprivileged permission checks") {
                assert!(o.status.success(), "{stdout}\n{stderr}");
                eprintln!("permission checks passed as uid 65534");
            } else if stdout.contains("FAILED") || stderr.contains("panicked") {
                panic!("unprivileged permission test failed:\n{stdout}\n{stderr}");
            } else {
                // SKIPPED (privileges not dropped) or setpriv could not run the binary.
                eprintln!("permission test not run as an unprivileged user:\n{stdout}\n{stderr}");
            }
        }
        Err(e) => eprintln!("permission test skipped: cannot run setpriv: {e}"),
    }
}
