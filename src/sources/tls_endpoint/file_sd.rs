//! Prometheus file-based service discovery files as target lists: a JSON or
//! YAML list of `{targets: [...], labels: {...}}` groups. Targets are URLs or
//! `host:port` (meaning `tls://host:port`); `labels` are accepted and not used.
//! Files are re-read on every scan (so a changed file takes effect with the next
//! scan); a glob may use wildcards in its last path component only. Each file is
//! capped at [`MAX_FILE_SD_LEN`] bytes.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::target::{self, Target};
use crate::model::Reason;

pub const MAX_FILE_SD_LEN: u64 = 1024 * 1024;
/// Most files matched by one glob.
pub const MAX_FILES: usize = 1000;

#[derive(Debug, Deserialize)]
struct Group {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    labels: std::collections::BTreeMap<String, String>,
}

type FileResult = Result<Vec<Target>, (Reason, String)>;

/// Expand the globs and parse each file: `(path, targets or error)`.
pub fn load(globs: &[String]) -> Vec<(String, FileResult)> {
    let mut out = Vec::new();
    for g in globs {
        for path in expand(g) {
            let res = read(&path);
            out.push((path.display().to_string(), res));
        }
    }
    out
}

fn expand(pattern: &str) -> Vec<PathBuf> {
    let p = Path::new(pattern);
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
    let is_glob = name.as_deref().is_some_and(|n| n.contains(['*', '?', '[']));
    if !is_glob {
        return vec![p.to_path_buf()];
    }
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let pat = name.unwrap_or_default();
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| {
            crate::sources::glob::component_matches(
                pat.as_bytes(),
                e.file_name().as_encoded_bytes(),
            )
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .take(MAX_FILES)
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> FileResult {
    let meta =
        std::fs::metadata(path).map_err(|e| (Reason::from_io(&e), format!("file_sd: {e}")))?;
    if meta.len() > MAX_FILE_SD_LEN {
        return Err((
            Reason::TooLarge,
            format!("file_sd file larger than {MAX_FILE_SD_LEN} bytes"),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| (Reason::from_io(&e), format!("file_sd: {e}")))?;
    parse(&text).map_err(|e| (Reason::DecodeFailed, format!("file_sd: {e}")))
}

/// Parse file_sd content (JSON when it starts with `[`, else YAML).
pub fn parse(text: &str) -> Result<Vec<Target>, String> {
    let groups: Vec<Group> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else if text.trim().is_empty() {
        Vec::new()
    } else {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())?
    };
    let mut out = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        for (j, t) in g.targets.iter().enumerate() {
            out.push(target::parse(t, true).map_err(|e| format!("[{i}].targets[{j}]: {e}"))?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn json_and_yaml() {
        let j = r#"[{"targets": ["127.0.0.1:8443", "smtp://mail:25"], "labels": {"env": "x"}}]"#;
        assert_eq!(parse(j).unwrap().len(), 2);
        let y = "- targets:\n  - 'h:1'\n  labels:\n    a: b\n";
        assert_eq!(parse(y).unwrap()[0].port, 1);
        assert!(parse("[{\"targets\": [\"gopher://h\"]}]").is_err());
        assert!(parse("").unwrap().is_empty());
    }
}
