//! A table-driven path-validation conformance suite built at test time with
//! the `openssl` CLI: name constraints (DNS, IP, DN; permitted/excluded; in
//! intermediates and roots), EKU chains, unknown critical extensions at each
//! depth, basicConstraints/keyUsage on CAs, AKI/SKI, pathLen, an expired
//! intermediate, malformed SANs, serial numbers out of range, weak keys,
//! profiles — each with a positive twin — plus a kubeadm-shaped PKI and
//! pathological chains (100 deep, loops, name-constraint explosions, many
//! same-named issuers) that must finish with a bounded verdict.
//!
//! Every case has an expected verdict; certvigil must match it (status and
//! reason). `openssl verify -x509_strict` is run on the same files and its
//! agreement with the expected verdict is counted and printed; for the cases
//! marked `openssl_agrees` the two must give the same answer.

mod support_pki;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use certvigil::checks::Checker;
use certvigil::config::{RevocationConfig, TrustConfig, TrustProfile};
use certvigil::model::{CertEntry, SourceKind, SourceRef, TrustReason, TrustStatus};
use certvigil::parse::{parse_object, FormatHint, ParseOptions};
use chrono::{DateTime, Utc};
use support_pki::{openssl, openssl_available, Ca};

const NO_URL: &str = "http://127.0.0.1:9/";

fn entries(paths: &[&Path]) -> Vec<CertEntry> {
    let mut out = Vec::new();
    for p in paths {
        let data = std::fs::read(p).unwrap();
        let parsed = parse_object(&data, FormatHint::Auto, &ParseOptions::default());
        let sref = Arc::new(SourceRef::new(
            SourceKind::File,
            "test",
            p.display().to_string(),
        ));
        for (idx, cert) in parsed.certs {
            out.push(CertEntry {
                source: sref.clone(),
                index_in_bundle: idx,
                cert: Arc::new(cert),
                expired: false,
                trust: Default::default(),
                revocation: Default::default(),
            });
        }
    }
    out
}

fn checker(roots: &[&Path], ints: &[PathBuf], profile: TrustProfile) -> Checker {
    let t = TrustConfig {
        roots: roots.iter().map(|p| p.to_path_buf()).collect(),
        intermediates: ints.to_vec(),
        system_roots: false,
        fetch_aia: false,
        profile,
    };
    let r = RevocationConfig {
        methods: Vec::new(),
        offline: true,
        ..RevocationConfig::default()
    };
    Checker::new(&t, &r).unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

fn verdict(
    roots: &[&Path],
    ints: &[PathBuf],
    leaf: &Path,
    profile: TrustProfile,
    at: DateTime<Utc>,
) -> (TrustStatus, Option<TrustReason>, String) {
    let mut c = checker(roots, ints, profile);
    let mut es = entries(&[leaf]);
    assert_eq!(es.len(), 1, "{}", leaf.display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(c.run(&mut es, at));
    let t = &es[0].trust;
    (t.status, t.reason, t.detail.to_string())
}

/// `openssl verify -x509_strict`: true when it accepts the chain.
fn openssl_accepts(root: &Path, ints: &[PathBuf], leaf: &Path, purpose: Option<&str>) -> bool {
    let dir = leaf.parent().unwrap();
    let bundle = dir.join(format!(
        "untrusted-{}.pem",
        leaf.file_name().unwrap().to_string_lossy()
    ));
    let mut pem = String::new();
    for i in ints {
        pem.push_str(&std::fs::read_to_string(i).unwrap());
    }
    std::fs::write(&bundle, pem).unwrap();
    let mut cmd = std::process::Command::new("openssl");
    cmd.args(["verify", "-x509_strict", "-CAfile"]).arg(root);
    if !ints.is_empty() {
        cmd.arg("-untrusted").arg(&bundle);
    }
    if let Some(p) = purpose {
        cmd.args(["-purpose", p]);
    }
    cmd.arg(leaf);
    cmd.output().unwrap().status.success()
}

/// A CA whose config has extra sections.
fn with_sections(ca: &Ca, sections: &[(&str, String)]) {
    for (n, b) in sections {
        ca.add_ext_section(n, b);
    }
}

/// Issue with this CA: subject `subj` (openssl `-subj` syntax), extension
/// section `ext`, a key made by `keyargs` (genpkey arguments), an optional
/// serial (hex) and digest.
fn issue_custom(
    ca: &Ca,
    stem: &str,
    subj: &str,
    ext: &str,
    keyargs: &[&str],
    serial: Option<&str>,
    md: &str,
) -> PathBuf {
    let key = format!("{stem}.key");
    let mut args = vec!["genpkey"];
    args.extend_from_slice(keyargs);
    args.extend(["-out", &key]);
    openssl(&ca.dir, &args);
    let csr = format!("{stem}.csr");
    openssl(
        &ca.dir,
        &[
            "req", "-new", "-key", &key, "-subj", subj, "-out", &csr, "-config", "ca.cnf",
        ],
    );
    if let Some(s) = serial {
        std::fs::write(ca.dir.join("serial"), format!("{s}\n")).unwrap();
    }
    let out = format!("{stem}.pem");
    openssl(
        &ca.dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-preserveDN",
            "-config",
            "ca.cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-extensions",
            ext,
            "-md",
            md,
            "-days",
            "365",
            "-in",
            &csr,
            "-out",
            &out,
        ],
    );
    ca.dir.join(out)
}

const EC: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
const RSA1024: &[&str] = &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"];

fn leaf(ca: &Ca, stem: &str, subj: &str, ext: &str) -> PathBuf {
    issue_custom(ca, stem, subj, ext, EC, None, "sha256")
}

/// A root whose self-signed certificate uses extension section `ext`
/// (re-signed over the one `Ca::root` made).
fn root_with(base: &Path, name: &str, ext: &str, body: &str) -> Ca {
    let ca = Ca::root(base, name, 3650, NO_URL, NO_URL);
    ca.add_ext_section(ext, body);
    openssl(
        &ca.dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "3650",
            "-config",
            "ca.cnf",
            "-extensions",
            ext,
        ],
    );
    ca
}

const LEAF: &str = "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
const CA: &str = "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";

struct Case {
    name: &'static str,
    root: PathBuf,
    ints: Vec<PathBuf>,
    leaf: PathBuf,
    profile: TrustProfile,
    /// `None`: trusted; `Some(reason)`: rejected for this reason.
    expect: Option<TrustReason>,
    /// openssl -purpose for the agreement run.
    purpose: Option<&'static str>,
    /// openssl must give the same accept/reject answer.
    openssl_agrees: bool,
}

#[test]
fn conformance_table() {
    if !openssl_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let root = Ca::root(base, "Conf Root", 3650, NO_URL, NO_URL);
    let sections: Vec<(&str, String)> = vec![
        ("l_server", format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:ok.good.test\n")),
        ("l_evil", format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:a.evil.test\n")),
        ("l_ip_ok", format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = IP:10.1.2.3\n")),
        ("l_ip_bad", format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = IP:192.168.1.1\n")),
        ("l_client", format!("{LEAF}extendedKeyUsage = clientAuth\n")),
        ("l_legacy", "basicConstraints = CA:FALSE\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n".to_string()),
        ("l_crit_unknown", format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:ok.good.test\n1.3.6.1.4.1.55555.1 = critical,ASN1:NULL\n")),
        ("l_noncrit_unknown", format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:ok.good.test\n1.3.6.1.4.1.55555.1 = ASN1:NULL\n")),
        ("l_no_aki", "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:ok.good.test\nauthorityKeyIdentifier = none\n".to_string()),
        ("l_crit_aki", "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:ok.good.test\nauthorityKeyIdentifier = critical,keyid\n".to_string()),
        ("l_bad_san", format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:bad..name.test\n")),
        ("l_bad_san2", format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:-bad-.test\n")),
        ("i_ok", CA.to_string()),
        ("i_nc_dns", format!("{CA}nameConstraints = critical,permitted;DNS:.good.test\n")),
        ("i_nc_dns_ex", format!("{CA}nameConstraints = critical,excluded;DNS:.evil.test\n")),
        ("i_nc_ip", format!("{CA}nameConstraints = critical,permitted;IP:10.0.0.0/255.0.0.0\n")),
        ("i_nc_dn", format!("{CA}nameConstraints = critical,permitted;dirName:nc_dn_sect\n[ nc_dn_sect ]\nO = Good\n")),
        ("i_eku_server", format!("{CA}extendedKeyUsage = serverAuth\n")),
        ("i_eku_both", format!("{CA}extendedKeyUsage = serverAuth,clientAuth\n")),
        ("i_crit_unknown", format!("{CA}1.3.6.1.4.1.55555.1 = critical,ASN1:NULL\n")),
        ("i_not_ca", "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,keyCertSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n".to_string()),
        ("i_no_bc", "keyUsage = critical,keyCertSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n".to_string()),
        ("i_no_certsign", "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,digitalSignature,cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n".to_string()),
        ("i_no_ski", "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = none\nauthorityKeyIdentifier = keyid\n".to_string()),
        ("i_pl0", "basicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n".to_string()),
        ("i_pl1", "basicConstraints = critical,CA:TRUE,pathlen:1\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n".to_string()),
    ];
    with_sections(&root, &sections);
    let sub = |name: &str, ext: &str| root.sub_ca_with(base, name, 1825, NO_URL, NO_URL, ext);
    let prep = |ca: &Ca| with_sections(ca, &sections);

    let mut cases: Vec<Case> = Vec::new();
    let mut add = |name: &'static str,
                   root: &Ca,
                   ints: &[&Ca],
                   leaf: PathBuf,
                   profile: TrustProfile,
                   expect: Option<TrustReason>,
                   purpose: Option<&'static str>,
                   openssl_agrees: bool| {
        cases.push(Case {
            name,
            root: root.cert.clone(),
            ints: ints.iter().map(|c| c.cert.clone()).collect(),
            leaf,
            profile,
            expect,
            purpose,
            openssl_agrees,
        });
    };
    use TrustProfile::{Auto, Webpki};
    use TrustReason as R;

    // Baseline and profiles.
    let int = sub("Int OK", "i_ok");
    prep(&int);
    add(
        "baseline",
        &root,
        &[&int],
        leaf(&int, "base", "/CN=ok.good.test", "l_server"),
        Auto,
        None,
        Some("sslserver"),
        true,
    );
    add(
        "webpki_server_leaf",
        &root,
        &[&int],
        leaf(&int, "wserver", "/CN=ok.good.test", "l_server"),
        Webpki,
        None,
        Some("sslserver"),
        true,
    );
    add(
        "client_only_leaf_rfc5280",
        &root,
        &[&int],
        leaf(
            &int,
            "client",
            "/CN=system:node:n1/O=system:nodes",
            "l_client",
        ),
        Auto,
        None,
        Some("sslclient"),
        true,
    );
    add(
        "client_only_leaf_webpki",
        &root,
        &[&int],
        leaf(
            &int,
            "client2",
            "/CN=system:node:n1/O=system:nodes",
            "l_client",
        ),
        Webpki,
        Some(R::MissingSan),
        Some("sslserver"),
        true,
    );
    add(
        "legacy_leaf_no_eku_no_san_rfc5280",
        &root,
        &[&int],
        leaf(&int, "legacy", "/CN=legacy-internal", "l_legacy"),
        Auto,
        None,
        None,
        true,
    );
    add(
        "legacy_leaf_webpki",
        &root,
        &[&int],
        leaf(&int, "legacy2", "/CN=legacy-internal", "l_legacy"),
        Webpki,
        Some(R::MissingSan),
        None,
        false,
    );

    // Name constraints in intermediates.
    let nc = sub("Int NC DNS", "i_nc_dns");
    prep(&nc);
    add(
        "nc_dns_permitted_ok",
        &root,
        &[&nc],
        leaf(&nc, "ncok", "/CN=ok.good.test", "l_server"),
        Auto,
        None,
        None,
        true,
    );
    add(
        "nc_dns_permitted_violation",
        &root,
        &[&nc],
        leaf(&nc, "ncbad", "/CN=a.evil.test", "l_evil"),
        Auto,
        Some(R::NameConstraintViolation),
        None,
        true,
    );
    let ncx = sub("Int NC DNS Ex", "i_nc_dns_ex");
    prep(&ncx);
    add(
        "nc_dns_excluded_ok",
        &root,
        &[&ncx],
        leaf(&ncx, "ncxok", "/CN=ok.good.test", "l_server"),
        Auto,
        None,
        None,
        true,
    );
    add(
        "nc_dns_excluded_violation",
        &root,
        &[&ncx],
        leaf(&ncx, "ncxbad", "/CN=a.evil.test", "l_evil"),
        Auto,
        Some(R::NameConstraintViolation),
        None,
        true,
    );
    let nci = sub("Int NC IP", "i_nc_ip");
    prep(&nci);
    add(
        "nc_ip_ok",
        &root,
        &[&nci],
        leaf(&nci, "nciok", "/CN=ip-ok", "l_ip_ok"),
        Auto,
        None,
        None,
        true,
    );
    add(
        "nc_ip_violation",
        &root,
        &[&nci],
        leaf(&nci, "ncibad", "/CN=ip-bad", "l_ip_bad"),
        Auto,
        Some(R::NameConstraintViolation),
        None,
        true,
    );
    let ncd = sub("Int NC DN", "i_nc_dn");
    prep(&ncd);
    // webpki does not implement directoryName constraints and rejects every
    // name under one (fail closed, which RFC 5280 §4.2.1.10 allows); openssl
    // processes them and accepts. A known divergence, asserted as such.
    add(
        "nc_dn_permitted_fail_closed",
        &root,
        &[&ncd],
        leaf(&ncd, "ncdok", "/O=Good/CN=dn-ok", "l_client"),
        Auto,
        Some(R::NameConstraintViolation),
        None,
        false,
    );
    add(
        "nc_dn_violation",
        &root,
        &[&ncd],
        leaf(&ncd, "ncdbad", "/O=Evil/CN=dn-bad", "l_client"),
        Auto,
        Some(R::NameConstraintViolation),
        None,
        true,
    );
    // Name constraints in a root.
    let ncroot = root_with(
        base,
        "NC Root",
        "r_nc",
        &format!("{CA}nameConstraints = critical,permitted;DNS:.good.test\n"),
    );
    with_sections(&ncroot, &sections);
    let ncr_int = ncroot.sub_ca_with(base, "NCR Int", 1825, NO_URL, NO_URL, "i_ok");
    prep(&ncr_int);
    add(
        "nc_root_ok",
        &ncroot,
        &[&ncr_int],
        leaf(&ncr_int, "ncrok", "/CN=ok.good.test", "l_server"),
        Auto,
        None,
        None,
        false,
    );
    add(
        "nc_root_violation",
        &ncroot,
        &[&ncr_int],
        leaf(&ncr_int, "ncrbad", "/CN=a.evil.test", "l_evil"),
        Auto,
        Some(R::NameConstraintViolation),
        None,
        true,
    );

    // EKU chains.
    let es = sub("Int EKU Server", "i_eku_server");
    prep(&es);
    add(
        "eku_nested_ok",
        &root,
        &[&es],
        leaf(&es, "ekuok", "/CN=ok.good.test", "l_server"),
        Auto,
        None,
        Some("sslserver"),
        true,
    );
    add(
        "eku_client_under_server_only_int",
        &root,
        &[&es],
        leaf(&es, "ekubad", "/CN=client", "l_client"),
        Auto,
        Some(R::EkuMismatch),
        Some("sslclient"),
        true,
    );
    let eb = sub("Int EKU Both", "i_eku_both");
    prep(&eb);
    add(
        "eku_client_under_both_int",
        &root,
        &[&eb],
        leaf(&eb, "ekuboth", "/CN=client", "l_client"),
        Auto,
        None,
        Some("sslclient"),
        true,
    );

    // Unknown critical extensions at each depth (and non-critical twins).
    add(
        "crit_unknown_leaf",
        &root,
        &[&int],
        leaf(&int, "critleaf", "/CN=ok.good.test", "l_crit_unknown"),
        Auto,
        Some(R::UnknownCriticalExtension),
        None,
        true,
    );
    add(
        "noncrit_unknown_leaf",
        &root,
        &[&int],
        leaf(&int, "noncritleaf", "/CN=ok.good.test", "l_noncrit_unknown"),
        Auto,
        None,
        None,
        true,
    );
    let ci = sub("Int Crit", "i_crit_unknown");
    prep(&ci);
    add(
        "crit_unknown_intermediate",
        &root,
        &[&ci],
        leaf(&ci, "critint", "/CN=ok.good.test", "l_server"),
        Auto,
        Some(R::UnknownCriticalExtension),
        None,
        true,
    );
    let croot = root_with(
        base,
        "Crit Root",
        "r_crit",
        &format!("{CA}1.3.6.1.4.1.55555.1 = critical,ASN1:NULL\n"),
    );
    with_sections(&croot, &sections);
    let croot_int = croot.sub_ca_with(base, "Crit Root Int", 1825, NO_URL, NO_URL, "i_ok");
    prep(&croot_int);
    add(
        "crit_unknown_root",
        &croot,
        &[&croot_int],
        leaf(&croot_int, "critroot", "/CN=ok.good.test", "l_server"),
        Auto,
        Some(R::UnknownCriticalExtension),
        None,
        true,
    );

    // basicConstraints / keyUsage on CAs.
    let nbroot = root_with(
        base,
        "NoBC Root",
        "r_nobc",
        "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n",
    );
    with_sections(&nbroot, &sections);
    let nb_int = nbroot.sub_ca_with(base, "NoBC Root Int", 1825, NO_URL, NO_URL, "i_ok");
    prep(&nb_int);
    add(
        "root_without_basic_constraints",
        &nbroot,
        &[&nb_int],
        leaf(&nb_int, "nobcroot", "/CN=ok.good.test", "l_server"),
        Auto,
        Some(R::IssuerNotCa),
        None,
        true,
    );
    let nca = sub("Int Not CA", "i_not_ca");
    prep(&nca);
    add(
        "issuer_not_ca",
        &root,
        &[&nca],
        leaf(&nca, "notca", "/CN=ok.good.test", "l_server"),
        Auto,
        Some(R::IssuerNotCa),
        None,
        true,
    );
    let nbc = sub("Int No BC", "i_no_bc");
    prep(&nbc);
    add(
        "issuer_without_basic_constraints",
        &root,
        &[&nbc],
        leaf(&nbc, "nobc", "/CN=ok.good.test", "l_server"),
        Auto,
        Some(R::IssuerNotCa),
        None,
        true,
    );
    let ncs = sub("Int No CertSign", "i_no_certsign");
    prep(&ncs);
    add(
        "issuer_without_keycertsign",
        &root,
        &[&ncs],
        leaf(&ncs, "nocs", "/CN=ok.good.test", "l_server"),
        Auto,
        Some(R::IssuerNotCa),
        None,
        true,
    );

    // AKI / SKI.
    // A leaf without AKI: rejected by the web PKI rules (and openssl's
    // -x509_strict), accepted for a private root (rcgen omits it by default).
    add(
        "leaf_without_aki_webpki",
        &root,
        &[&int],
        leaf(&int, "noaki", "/CN=ok.good.test", "l_no_aki"),
        Webpki,
        Some(R::BadKeyIdentifier),
        None,
        true,
    );
    add(
        "leaf_without_aki_rfc5280",
        &root,
        &[&int],
        leaf(&int, "noaki2", "/CN=ok.good.test", "l_no_aki"),
        Auto,
        None,
        None,
        false,
    );
    add(
        "leaf_with_critical_aki",
        &root,
        &[&int],
        leaf(&int, "critaki", "/CN=ok.good.test", "l_crit_aki"),
        Auto,
        Some(R::BadKeyIdentifier),
        None,
        true,
    );
    let nski = sub("Int No SKI", "i_no_ski");
    prep(&nski);
    add(
        "intermediate_without_ski",
        &root,
        &[&nski],
        leaf(&nski, "noski", "/CN=ok.good.test", "l_no_aki"),
        Auto,
        Some(R::BadKeyIdentifier),
        None,
        true,
    );

    // pathLen.
    let pl0 = sub("Int PL0", "i_pl0");
    prep(&pl0);
    let pl0_sub = pl0.sub_ca_with(base, "Int PL0 Sub", 1000, NO_URL, NO_URL, "i_ok");
    prep(&pl0_sub);
    add(
        "path_len_exceeded",
        &root,
        &[&pl0, &pl0_sub],
        leaf(&pl0_sub, "pl0", "/CN=ok.good.test", "l_server"),
        Auto,
        Some(R::PathLenExceeded),
        None,
        true,
    );
    let pl1 = sub("Int PL1", "i_pl1");
    prep(&pl1);
    let pl1_sub = pl1.sub_ca_with(base, "Int PL1 Sub", 1000, NO_URL, NO_URL, "i_ok");
    prep(&pl1_sub);
    add(
        "path_len_ok",
        &root,
        &[&pl1, &pl1_sub],
        leaf(&pl1_sub, "pl1", "/CN=ok.good.test", "l_server"),
        Auto,
        None,
        None,
        true,
    );

    // Malformed SANs, serials, weak keys, weak signatures.
    add(
        "malformed_san_empty_label",
        &root,
        &[&int],
        leaf(&int, "badsan", "/CN=bad", "l_bad_san"),
        Auto,
        Some(R::MalformedCertificate),
        None,
        false,
    );
    add(
        "malformed_san_hyphens",
        &root,
        &[&int],
        leaf(&int, "badsan2", "/CN=bad", "l_bad_san2"),
        Auto,
        Some(R::MalformedCertificate),
        None,
        false,
    );
    let long_serial = "01".repeat(21);
    add(
        "serial_21_octets",
        &root,
        &[&int],
        issue_custom(
            &int,
            "longserial",
            "/CN=ok.good.test",
            "l_server",
            EC,
            Some(&long_serial),
            "sha256",
        ),
        Auto,
        Some(R::InvalidSerial),
        None,
        false,
    );
    add(
        "serial_20_octets",
        &root,
        &[&int],
        issue_custom(
            &int,
            "serial20",
            "/CN=ok.good.test",
            "l_server",
            EC,
            Some(&"01".repeat(20)),
            "sha256",
        ),
        Auto,
        None,
        None,
        true,
    );
    add(
        "weak_rsa_1024_leaf",
        &root,
        &[&int],
        issue_custom(
            &int,
            "rsa1024",
            "/CN=ok.good.test",
            "l_server",
            RSA1024,
            None,
            "sha256",
        ),
        Auto,
        Some(R::WeakKey),
        None,
        false,
    );
    add(
        "sha1_signed_leaf",
        &root,
        &[&int],
        issue_custom(
            &int,
            "sha1",
            "/CN=ok.good.test",
            "l_server",
            EC,
            None,
            "sha1",
        ),
        Auto,
        Some(R::UnsupportedAlgorithm),
        None,
        false,
    );

    // Run.
    let at = now();
    let (mut ours, mut theirs, mut failures) = (0, 0, Vec::new());
    println!(
        "{:<40} {:<28} {:<28} openssl",
        "case", "expected", "certvigil"
    );
    for c in &cases {
        let (status, reason, detail) = verdict(&[&c.root], &c.ints, &c.leaf, c.profile, at);
        let got = if status == TrustStatus::Trusted {
            None
        } else {
            reason
        };
        let agree = got == c.expect && (status == TrustStatus::Trusted) == c.expect.is_none();
        let ossl = openssl_accepts(&c.root, &c.ints, &c.leaf, c.purpose);
        let ossl_agree = ossl == c.expect.is_none();
        ours += usize::from(agree);
        theirs += usize::from(ossl_agree);
        println!(
            "{:<40} {:<28} {:<28} {}",
            c.name,
            c.expect.map_or("trusted", |r| r.as_str()),
            got.map_or("trusted", |r| r.as_str()),
            if ossl { "accept" } else { "reject" }
        );
        if !agree {
            failures.push(format!(
                "{}: got {status:?}/{got:?} ({detail}), want {:?}",
                c.name, c.expect
            ));
        }
        if c.openssl_agrees && ossl != (status == TrustStatus::Trusted) {
            failures.push(format!(
                "{}: openssl -x509_strict {} but certvigil says {status:?} ({detail})",
                c.name,
                if ossl { "accepts" } else { "rejects" }
            ));
        }
    }
    println!(
        "agreement with the expected verdicts: certvigil {ours}/{n}, openssl verify -x509_strict {theirs}/{n}",
        n = cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// kubeadm's PKI: three private roots, serving, client-only, dual-use,
/// front-proxy and etcd certificates, no intermediates. All `trusted` under
/// the default profile with their roots configured.
#[test]
fn kubeadm_shaped_pki_is_trusted_under_its_private_roots() {
    if !openssl_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let kca = "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,digitalSignature,keyEncipherment,keyCertSign\nsubjectKeyIdentifier = hash\n";
    let k8s = root_with(base, "kubernetes", "kca", kca);
    let fp = root_with(base, "front-proxy-ca", "kca", kca);
    let etcd = root_with(base, "etcd-ca", "kca", kca);
    let leaf_base = "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\nauthorityKeyIdentifier = keyid\n";
    for ca in [&k8s, &fp, &etcd] {
        ca.add_ext_section("serving", &format!("{leaf_base}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc.cluster.local,DNS:cp1,IP:10.96.0.1,IP:192.168.0.10\n"));
        ca.add_ext_section(
            "client",
            &format!("{leaf_base}extendedKeyUsage = clientAuth\n"),
        );
        ca.add_ext_section("dual", &format!("{leaf_base}extendedKeyUsage = serverAuth,clientAuth\nsubjectAltName = DNS:cp1,DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1\n"));
    }
    let certs = [
        (&k8s, "apiserver", "/CN=kube-apiserver", "serving"),
        (
            &k8s,
            "apiserver-kubelet-client",
            "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client",
            "client",
        ),
        (
            &k8s,
            "kubelet-client",
            "/O=system:nodes/CN=system:node:cp1",
            "client",
        ),
        (
            &k8s,
            "admin",
            "/O=kubeadm:cluster-admins/CN=kubernetes-admin",
            "client",
        ),
        (
            &fp,
            "front-proxy-client",
            "/CN=front-proxy-client",
            "client",
        ),
        (&etcd, "etcd-server", "/CN=cp1", "dual"),
        (&etcd, "etcd-peer", "/CN=cp1", "dual"),
        (
            &etcd,
            "etcd-healthcheck-client",
            "/CN=kube-etcd-healthcheck-client",
            "client",
        ),
        (
            &etcd,
            "apiserver-etcd-client",
            "/CN=kube-apiserver-etcd-client",
            "client",
        ),
    ];
    let roots = [k8s.cert.as_path(), fp.cert.as_path(), etcd.cert.as_path()];
    for (ca, stem, subj, ext) in certs {
        let p = leaf(ca, stem, subj, ext);
        let (status, reason, detail) = verdict(&roots, &[], &p, TrustProfile::Auto, now());
        assert_eq!(status, TrustStatus::Trusted, "{stem}: {reason:?} {detail}");
        assert!(
            detail.contains(&format!("'{}' (trust anchor)", ca.name)),
            "{detail}"
        );
        assert!(
            openssl_accepts(&ca.cert, &[], &p, None),
            "{stem}: openssl disagrees"
        );
    }
    // The same client-only certificate judged by the web PKI rules is not.
    let p = leaf(
        &k8s,
        "kubelet-client2",
        "/O=system:nodes/CN=system:node:cp2",
        "client",
    );
    let (status, reason, _) = verdict(&roots, &[], &p, TrustProfile::Webpki, now());
    assert_eq!(status, TrustStatus::Untrusted);
    assert_eq!(reason, Some(TrustReason::MissingSan));
}

/// `signer` certifies `subject`'s key and name (a cross certificate).
fn cross(signer: &Ca, subject: &Ca, stem: &str) -> PathBuf {
    let csr = format!("{stem}.csr");
    let out = format!("{stem}.pem");
    openssl(
        &signer.dir,
        &[
            "req",
            "-new",
            "-key",
            subject.key.to_str().unwrap(),
            "-subj",
            &format!("/CN={}", subject.name),
            "-out",
            &csr,
            "-config",
            "ca.cnf",
        ],
    );
    openssl(
        &signer.dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-extensions",
            "ca_ext",
            "-days",
            "365",
            "-in",
            &csr,
            "-out",
            &out,
        ],
    );
    signer.dir.join(out)
}

/// Hostile graphs end with a bounded, non-trusted verdict (no hang, no crash).
#[test]
fn pathological_chains_are_bounded() {
    if !openssl_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let root = Ca::root(base, "Patho Root", 3650, NO_URL, NO_URL);
    root.add_ext_section(
        "l_server",
        &format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:ok.good.test\n"),
    );

    // 1. A 100-deep chain of intermediates (every one in the pool).
    let mut chain: Vec<Ca> = Vec::new();
    let mut ints = Vec::new();
    for i in 0..100 {
        let next = match chain.last() {
            None => root.sub_ca(base, &format!("Deep {i}"), 1000, NO_URL, NO_URL),
            Some(prev) => prev.sub_ca(base, &format!("Deep {i}"), 1000, NO_URL, NO_URL),
        };
        ints.push(next.cert.clone());
        chain.push(next);
    }
    let deepest = chain.last().unwrap();
    deepest.add_ext_section(
        "l_server",
        &format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:ok.good.test\n"),
    );
    let deep_leaf = leaf(deepest, "deep", "/CN=deep.test", "l_server");
    let (status, reason, detail) =
        verdict(&[&root.cert], &ints, &deep_leaf, TrustProfile::Auto, now());
    assert_eq!(status, TrustStatus::Untrusted, "{detail}");
    assert_eq!(reason, Some(TrustReason::PathLenExceeded), "{detail}");
    // Trusting a CA 5 levels up makes the short path valid.
    let mid = &chain[95];
    let (status, _, detail) = verdict(&[&mid.cert], &ints, &deep_leaf, TrustProfile::Auto, now());
    assert_eq!(status, TrustStatus::Trusted, "{detail}");

    // 2. A loop: A certified by B, B certified by A; the leaf is under A.
    let a = Ca::root(base, "Loop A", 3650, NO_URL, NO_URL);
    let b = Ca::root(base, "Loop B", 3650, NO_URL, NO_URL);
    let a_by_b = cross(&b, &a, "a_by_b");
    let b_by_a = cross(&a, &b, "b_by_a");
    a.add_ext_section(
        "l_server",
        &format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:ok.good.test\n"),
    );
    let loop_leaf = leaf(&a, "loop", "/CN=loop.test", "l_server");
    let (status, reason, detail) = verdict(
        &[&root.cert],
        &[a_by_b, b_by_a],
        &loop_leaf,
        TrustProfile::Auto,
        now(),
    );
    assert_ne!(status, TrustStatus::Trusted, "{detail}");
    assert!(reason.is_some(), "{detail}");

    // 3. A name-constraint explosion: 1,000 permitted subtrees × 1,000 SANs.
    let subtrees: Vec<String> = (0..1000)
        .map(|i| format!("permitted;DNS:.z{i}.test"))
        .collect();
    root.add_ext_section(
        "i_nc_many",
        &format!("{CA}nameConstraints = critical,{}\n", subtrees.join(",")),
    );
    let nc = root.sub_ca_with(base, "NC Many", 1000, NO_URL, NO_URL, "i_nc_many");
    let sans: Vec<String> = (0..1000).map(|i| format!("DNS:h{i}.z999.test")).collect();
    nc.add_ext_section(
        "l_many",
        &format!(
            "{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = {}\n",
            sans.join(",")
        ),
    );
    let nc_leaf = leaf(&nc, "ncmany", "/CN=h0.z999.test", "l_many");
    let (status, reason, detail) = verdict(
        &[&root.cert],
        std::slice::from_ref(&nc.cert),
        &nc_leaf,
        TrustProfile::Auto,
        now(),
    );
    assert_eq!(status, TrustStatus::Untrusted, "{detail}");
    assert_eq!(reason, Some(TrustReason::BudgetExceeded), "{detail}");

    // 4. Forty same-named issuers with other keys: bounded candidate search.
    let mut same = Vec::new();
    for i in 0..40 {
        let c = root.sub_ca(base, &format!("Same {i}"), 1000, NO_URL, NO_URL);
        // All named "Same Int": re-certify each key under that name.
        let renamed = Ca {
            dir: c.dir.clone(),
            name: "Same Int".into(),
            cert: c.cert.clone(),
            key: c.key.clone(),
            cnf: c.cnf.clone(),
        };
        same.push(cross(&root, &renamed, &format!("same{i}")));
    }
    let hidden = root.sub_ca(base, "Same Int", 1000, NO_URL, NO_URL);
    hidden.add_ext_section(
        "l_server",
        &format!("{LEAF}extendedKeyUsage = serverAuth\nsubjectAltName = DNS:ok.good.test\n"),
    );
    let same_leaf = leaf(&hidden, "same", "/CN=same.test", "l_server");
    let (status, reason, detail) =
        verdict(&[&root.cert], &same, &same_leaf, TrustProfile::Auto, now());
    assert_ne!(status, TrustStatus::Trusted, "{detail}");
    assert!(reason.is_some(), "{detail}");
}

/// Each distinct signature costs one *ring* verification per process: the
/// chain search and webpki share the cache, and later scans verify nothing.
#[test]
fn each_distinct_signature_is_verified_once() {
    if !openssl_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let root = Ca::root(base, "Once Root", 3650, NO_URL, NO_URL);
    let int = root.sub_ca(base, "Once Int", 1825, NO_URL, NO_URL);
    let a = int.issue("a.once.test", "leaf_ext", 365, None);
    let b = int.issue("b.once.test", "leaf_ext", 365, None);
    let mut c = checker(&[&root.cert], &[], TrustProfile::Auto);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let at = now();
    for run in 0..3 {
        let mut es = entries(&[&a, &b, &int.cert]);
        rt.block_on(c.run(&mut es, at));
        for e in &es {
            assert_eq!(e.trust.status, TrustStatus::Trusted, "{}", e.trust.detail);
        }
        // a by Int, b by Int, Int by Root.
        assert_eq!(c.signature_verifications(), 3, "run {run}");
    }
    // Moving the evaluation instant past the leaves' notAfter re-judges them
    // (their verdict window ends) without verifying anything again.
    let later = at + chrono::Duration::days(400);
    let mut es = entries(&[&a, &b, &int.cert]);
    rt.block_on(c.run(&mut es, later));
    assert_eq!(es[0].trust.status, TrustStatus::Untrusted);
    assert_eq!(es[0].trust.reason, Some(TrustReason::Expired));
    assert_eq!(es[2].trust.status, TrustStatus::Trusted);
    assert_eq!(c.signature_verifications(), 3);
}
