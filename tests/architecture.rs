//! The pipeline's layering (docs/architecture.md) stays true: every `crate::<module>`
//! path in a module's code (comments excluded) names a module that layer may use.
//! A back-edge (a source calling the scraper, checks calling outputs, the inventory
//! depending on checks, ...) fails this test with the file and line.

use std::path::{Path, PathBuf};

/// Top-level module → the top-level modules its code may name (besides itself).
/// `model` is the IO-free base everyone may use; `config` holds the global
/// sections and path helpers. `cli`, `app` and `lib` wire everything and are free.
const LAYERS: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("parse", &["model"]),
    ("config", &["model", "parse"]),
    ("sources", &["model", "parse", "config"]),
    // The loader: global sections (config) + every source kind's config (the
    // registry in sources/mod.rs). `cli` and `app` load through it.
    ("setup", &["model", "parse", "config", "sources"]),
    ("checks", &["model", "parse", "config"]),
    ("inventory", &["model"]),
    ("events", &["model"]),
    (
        "scraper",
        &[
            "model",
            "parse",
            "config",
            "sources",
            "checks",
            "inventory",
            "events",
        ],
    ),
    ("outputs", &["model", "config", "checks", "inventory"]),
];

/// Modules that wire everything (no rule of their own).
const FREE: &[&str] = &["cli", "app"];

fn is_top(name: &str) -> bool {
    LAYERS.iter().any(|(l, _)| *l == name) || FREE.contains(&name)
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `crate::<name>` in `line`, with `<name>` a top-level module.
fn crate_refs(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..end];
        if is_top(name) {
            out.push(name);
        }
        // `crate::{a, b}` groups: look inside the braces too.
        if end == 0 && after.starts_with('{') {
            let close = after.find('}').unwrap_or(after.len());
            for part in after[1..close].split(',') {
                let head = part.trim().split("::").next().unwrap_or("");
                if is_top(head) {
                    out.push(head);
                }
            }
        }
        rest = after;
    }
    out
}

/// `(file:line, layer, used)` for every reference that breaks [`LAYERS`].
fn violations(src: &Path) -> Vec<(String, &'static str, String)> {
    let mut out = Vec::new();
    for (layer, allowed) in LAYERS {
        let mut files = Vec::new();
        let single = src.join(format!("{layer}.rs"));
        if single.is_file() {
            files.push(single);
        }
        rs_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "layer {layer} has no source files");
        for f in files {
            let Ok(text) = std::fs::read_to_string(&f) else {
                panic!("cannot read {}", f.display());
            };
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                // Drop a trailing comment.
                let code = code.split(" //").next().unwrap_or(code);
                for used in crate_refs(code) {
                    if used != *layer && !allowed.contains(&used) {
                        out.push((
                            format!("{}:{}", f.display(), n + 1),
                            *layer,
                            used.to_string(),
                        ));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn imports_only_go_down_the_pipeline() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(
        bad.is_empty(),
        "back-edges in the pipeline (docs/architecture.md):\n{}",
        bad.iter()
            .map(|(at, layer, used)| format!("  {at}: {layer} uses crate::{used}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_checker_sees_a_back_edge() {
    // The scanner itself must be able to fail: a planted back-edge is found.
    let dir = std::env::temp_dir().join(format!("certvigil-arch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (layer, _) in LAYERS {
        let d = dir.join(layer);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("mod.rs"),
            "//! doc\nuse crate::model::X; // crate::outputs in a comment\n",
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("checks").join("bad.rs"),
        "use crate::{model::Y, outputs::json};\nfn f() { crate::inventory::Snapshot::empty(); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sources").join("k.rs"),
        "    crate::scraper::parse_item();\n",
    )
    .unwrap();
    let bad = violations(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let got: Vec<(&str, &str)> = bad.iter().map(|(_, l, u)| (*l, u.as_str())).collect();
    assert_eq!(
        got,
        vec![
            ("sources", "scraper"),
            ("checks", "outputs"),
            ("checks", "inventory")
        ],
        "{bad:?}"
    );
}
