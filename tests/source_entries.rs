//! `sources:` entries of every kind run side by side (issue 12 part B, item 1):
//! several `kind: docker` entries are validated, built into separate sources and
//! reported under their own `source_name`. The Docker hosts are closed loopback ports,
//! so each source fails on its own (`x509_source_up 0`) without any daemon.

use std::net::TcpListener;
use std::time::Duration;

use certvigil::model::SourceKind;
use certvigil::outputs::metrics::render;
use certvigil::scraper::Scraper;
use certvigil::setup::from_yaml_str;
use certvigil::sources::build_sources;

/// A loopback port that nothing listens on (bound once, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn two_docker_entries_are_built_and_reported_under_their_names() {
    let (a, b) = (closed_port(), closed_port());
    let text = format!(
        "sources:\n  - kind: docker\n    name: docker-a\n    enabled: true\n    host: tcp://127.0.0.1:{a}\n    events: false\n  - kind: docker\n    name: docker-b\n    enabled: true\n    host: tcp://127.0.0.1:{b}\n    events: false\n"
    );
    let cfg = from_yaml_str(&text, "t").unwrap_or_else(|e| panic!("{e}"));
    let sources = build_sources(&cfg);
    let names: Vec<&str> = sources.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["docker-a", "docker-b"]);
    assert!(sources
        .iter()
        .all(|s| s.kinds().contains(&SourceKind::DockerContainer)));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let snap = rt.block_on(async {
        let mut scraper = Scraper::new(sources, Duration::from_secs(60));
        scraper.scan(chrono::Utc::now()).await
    });
    let up: Vec<(&str, bool)> = snap
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.up))
        .collect();
    assert!(up.contains(&("docker-a", false)), "{up:?}");
    assert!(up.contains(&("docker-b", false)), "{up:?}");

    let text = render(Some(&snap), &cfg.metrics, 0.0, false);
    for name in ["docker-a", "docker-b"] {
        let needle = format!("source_name=\"{name}\"");
        assert!(
            text.lines()
                .any(|l| l.starts_with("x509_source_up{") && l.contains(&needle)),
            "no x509_source_up for {name}:\n{text}"
        );
    }
}

#[test]
fn top_level_docker_section_still_builds_one_source() {
    let port = closed_port();
    let text = format!(
        "sources: []\ndocker:\n  name: legacy\n  enabled: true\n  host: tcp://127.0.0.1:{port}\n"
    );
    let cfg = from_yaml_str(&text, "t").unwrap_or_else(|e| panic!("{e}"));
    let sources = build_sources(&cfg);
    let names: Vec<&str> = sources.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["legacy"]);
}

#[test]
fn two_kubernetes_entries_build_two_sets_of_sources() {
    // Off entries build nothing; `enabled: true` with an unreadable kubeconfig still
    // builds its sources (they fail at scan time, each under its own name).
    let text = "sources:\n  - kind: kubernetes\n    name: prod\n    enabled: true\n    kubeconfig: /nonexistent/prod.kubeconfig\n    cabundles: {enabled: false}\n    csrs: {enabled: false}\n  - kind: kubernetes\n    name: staging\n    enabled: true\n    kubeconfig: /nonexistent/staging.kubeconfig\n    cabundles: {enabled: false}\n    csrs: {enabled: false}\n  - kind: kubernetes\n    name: off\n    enabled: false\n";
    let cfg = from_yaml_str(text, "t").unwrap_or_else(|e| panic!("{e}"));
    let mut names: Vec<String> = build_sources(&cfg)
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    names.sort();
    // ConfigMaps are off by default; Secrets on.
    assert_eq!(names, ["prod-secrets", "staging-secrets"]);
}
