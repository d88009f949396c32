#!/usr/bin/env python3
"""HTTP load benchmark of `certvigil serve` (docs/performance.md, "HTTP under load").

Generates a realistic corpus (fullchain bundles: distinct ECDSA leaves issued by
20 shared intermediates under 2 roots; every bundle file = leaf + intermediate),
starts the release binary on 127.0.0.1 and measures:

* wrk (2 threads, 16 connections, 20 s each) on /metrics (plain and
  `Accept-Encoding: gzip`), /, /api/v1/certificates: requests/s, p50/p99,
  non-2xx; RSS before, peak during and 5 s after each run (VmRSS, sampled
  every 100 ms); three /metrics bodies fetched during each /metrics run are
  checked with `promtool check metrics`;
* 500 clients that send `GET /metrics` and never read (receive buffer 4 KiB):
  RSS they add, and the time of a complete new scrape while they hold on;
* 200 half-sent requests: time of a complete new scrape, open file descriptors.

Every target is printed with OK or MISSED; the exit code is 1 if any is missed.

Needs: wrk, promtool, python3 with `cryptography` (pip install cryptography).
Run: cargo build --release --bin certvigil && python3 benches/http_load.py
Options: --bundles N (default 5000 = 10,000 certificates), --dir DIR (reuse a
corpus), --duration S (wrk seconds, default 20), --bin PATH, --env NAME=VALUE
(server environment, repeatable; e.g. GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576).
"""

import argparse
import datetime
import gzip
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def name(cn, org="Bench Corp", ou=None):
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
    ]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def make_cert(subject, issuer, pub, sign_key, ca, days, serial, sans=None, now=None):
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(pub)
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        # Key identifiers as real CAs issue them (the trust checks require them
        # on intermediates, RFC 5280 4.2.1.1-2).
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(sign_key.public_key()),
            critical=False,
        )
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    else:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return b.sign(sign_key, hashes.SHA256())


def generate(dir_, bundles):
    marker = os.path.join(dir_, f".complete-{bundles}")
    if os.path.exists(marker):
        return
    now = datetime.datetime.now(datetime.timezone.utc)
    os.makedirs(os.path.join(dir_, "certs"), exist_ok=True)
    roots, inters = [], []
    for r in range(2):
        k = ec.generate_private_key(ec.SECP256R1())
        n = name(f"Bench Root CA {r}")
        roots.append((k, n, make_cert(n, n, k.public_key(), k, True, 3650, 1000 + r, now=now)))
    for i in range(20):
        rk, rn, _ = roots[i % 2]
        k = ec.generate_private_key(ec.SECP256R1())
        n = name(f"Bench Issuing CA {i}", ou="PKI")
        inters.append((k, n, make_cert(n, rn, k.public_key(), rk, True, 1825, 2000 + i, now=now)))
    with open(os.path.join(dir_, "roots.pem"), "wb") as f:
        for _, _, c in roots:
            f.write(c.public_bytes(serialization.Encoding.PEM))
    # One leaf key reused for all leaves (key generation dominates otherwise;
    # the exporter never looks at private keys). Distinct subjects, SANs,
    # serials, validity (spread over 1..400 days, a few expired).
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    for j in range(bundles):
        ik, iname, icert = inters[j % len(inters)]
        host = f"svc-{j:05d}.team-{j % 50:02d}.example.internal"
        days = (j * 37) % 400 - 5
        leaf = make_cert(
            name(host, ou=f"team-{j % 50:02d}"), iname, leaf_key.public_key(), ik, False,
            days, 10_000_000 + j, sans=[host, f"www.{host}"], now=now,
        )
        sub = os.path.join(dir_, "certs", f"team-{j % 50:02d}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"svc-{j:05d}-fullchain.pem"), "wb") as f:
            f.write(leaf.public_bytes(serialization.Encoding.PEM))
            f.write(icert.public_bytes(serialization.Encoding.PEM))
    open(marker, "w").close()


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Sampler:
    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0.0, False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.1)

    def finish(self):
        self.stop = True
        self.t.join()
        return self.peak


def fetch(port, path, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    t = time.monotonic()
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read()
        enc = r.headers.get("Content-Encoding")
        status = r.status
    dt = time.monotonic() - t
    if enc == "gzip":
        body = gzip.decompress(body)
    return status, body, dt


def promtool_check(body):
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    out = (p.stdout + p.stderr).decode(errors="replace")
    # Lint findings (e.g. naming advice) are reported but do not fail parsing;
    # a parse error is "error while linting" / "text format parsing error".
    parse_error = "error while linting" in out or "parsing error" in out
    return (not parse_error), out.strip()


def wrk(port, path, duration, headers=()):
    cmd = ["wrk", "-t2", "-c16", f"-d{duration}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True).stdout

    def lat(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == "us" else (v if u == "ms" else v * 1000)

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": lat(50),
        "p99": lat(99),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(1).strip() if errors else "none",
        "requests": int(total.group(1)) if total else 0,
        "raw": out,
    }


RESULTS = []


def target(what, value, ok, goal):
    RESULTS.append((what, value, goal, ok))
    print(f"  {'OK    ' if ok else 'MISSED'} {what}: {value} (target {goal})", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundles", type=int, default=5000)
    ap.add_argument("--dir")
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--env", action="append", default=[],
                    help="NAME=VALUE for the server's environment (e.g. GLIBC_TUNABLES=...)")
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "certvigil"))
    args = ap.parse_args()
    tmp = None
    if args.dir:
        dir_ = args.dir
    else:
        tmp = tempfile.TemporaryDirectory()
        dir_ = tmp.name
    t = time.monotonic()
    generate(dir_, args.bundles)
    print(f"corpus: {args.bundles} fullchain bundles in {dir_} ({time.monotonic() - t:.1f}s)")

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(os.path.join(dir_, "serve.log"), "w")
    proc = subprocess.Popen(
        [args.bin, "serve", "--listen", f"127.0.0.1:{port}", "--offline",
         "--trust-roots", os.path.join(dir_, "roots.pem"), os.path.join(dir_, "certs")],
        stdout=subprocess.DEVNULL, stderr=log,
        env={**os.environ, **dict(e.split("=", 1) for e in args.env)},
    )
    try:
        while True:
            if proc.poll() is not None:
                sys.exit(f"certvigil exited: see {dir_}/serve.log")
            try:
                if fetch(port, "/readyz")[0] == 200:
                    break
            except Exception:
                pass
            time.sleep(0.1)
        _, plain, _ = fetch(port, "/metrics")
        req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req) as r:
            gz_len = len(r.read())
        _, page, _ = fetch(port, "/")
        _, js, _ = fetch(port, "/api/v1/certificates")
        n_certs = plain.count(b"\nx509_cert_not_after{")
        print(f"ready: {n_certs} certificates; /metrics {len(plain)/1e6:.1f} MB "
              f"({len(plain)/max(n_certs,1):.0f} B per certificate), gzip {gz_len/1e6:.2f} MB; "
              f"/ {len(page)/1e3:.0f} kB; JSON {len(js)/1e6:.1f} MB")
        base = rss_mb(proc.pid)
        print(f"RSS after start and first requests: {base:.1f} MB")
        # One request at a time: the page's own latency (median of 10).
        for path in ["/", "/?q=team-07&sort=subject", "/?status=expiring&page=3"]:
            times = sorted(fetch(port, path)[2] for _ in range(10))
            med = times[5] * 1000
            target(f"GET {path} alone (median of 10)", f"{med:.1f} ms", med < 100, "< 100 ms")

        checks = []
        for label, path, headers, sample in [
            ("/metrics gzip", "/metrics", ["Accept-Encoding: gzip"], True),
            ("/metrics plain", "/metrics", [], True),
            ("/", "/", [], False),
            ("/api/v1/certificates", "/api/v1/certificates", [], False),
        ]:
            before = rss_mb(proc.pid)
            sampler = Sampler(proc.pid)
            bodies = []

            def sample_bodies():
                for _ in range(3):
                    time.sleep(args.duration / 4)
                    try:
                        bodies.append(fetch(port, "/metrics", {"Accept-Encoding": "gzip"})[1])
                    except Exception as e:  # noqa: BLE001
                        bodies.append(repr(e).encode())

            th = threading.Thread(target=sample_bodies) if sample else None
            if th:
                th.start()
            r = wrk(port, path, args.duration, headers)
            if th:
                th.join()
            peak = sampler.finish()
            time.sleep(5)
            after5 = rss_mb(proc.pid)
            # Idle large bodies are released within 15 s (sweep every 5 s of
            # entries unused for 10 s).
            time.sleep(15)
            after = rss_mb(proc.pid)
            print(f"{label}: {r['rps']:.1f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, "
                  f"{r['requests']} requests, non-2xx {r['non2xx']}, socket errors: {r['errors']}; "
                  f"RSS {before:.1f} -> peak {peak:.1f} -> {after5:.1f} after 5 s -> {after:.1f} MB after 20 s", flush=True)
            for b in bodies:
                ok, out = promtool_check(b)
                checks.append(ok)
                if not ok:
                    print(f"  promtool: {out[:500]}")
            if label == "/metrics gzip":
                target("/metrics gzip req/s", f"{r['rps']:.1f}", r["rps"] >= 200, ">= 200")
            if label == "/metrics plain":
                target("/metrics plain req/s", f"{r['rps']:.1f}", r["rps"] >= 50, ">= 50")
            if label == "/":
                print(f"  (/ under 16 concurrent connections: p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms)")
            target(f"{label} non-2xx", r["non2xx"], r["non2xx"] == 0, "0")
            target(f"{label} peak RSS", f"{peak:.1f} MB", peak < 150, "< 150 MB")
            target(f"{label} RSS 20 s after", f"{after:.1f} MB", after < 100, "< 100 MB")
        target("bodies sampled during load pass promtool check metrics",
               f"{sum(checks)}/{len(checks)}", all(checks) and len(checks) == 6, "6/6")

        # 500 clients that never read.
        before = rss_mb(proc.pid)
        sampler = Sampler(proc.pid)
        idle = []
        for _ in range(500):
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.connect(("127.0.0.1", port))
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            idle.append(c)
        time.sleep(2)
        held = rss_mb(proc.pid)
        _, body, dt_plain = fetch(port, "/metrics")
        _, body_gz, dt_gz = fetch(port, "/metrics", {"Accept-Encoding": "gzip"})
        peak = sampler.finish()
        print(f"500 non-reading clients: RSS {before:.1f} -> {held:.1f} MB (peak {peak:.1f}); "
              f"new scrape plain {dt_plain*1000:.0f} ms, gzip {dt_gz*1000:.0f} ms, "
              f"server fds {fds(proc.pid)}")
        target("500 non-reading clients add", f"{peak - before:.1f} MB", peak - before < 50, "< 50 MB")
        target("scrape while they hold on (plain)", f"{dt_plain*1000:.0f} ms", dt_plain < 1, "< 1 s")
        target("scrape while they hold on (gzip)", f"{dt_gz*1000:.0f} ms", dt_gz < 1, "< 1 s")
        target("that scrape is complete", len(body), body == plain or len(body) == len(plain), "full body")
        for c in idle:
            c.close()
        time.sleep(1)

        # 200 half-sent requests.
        half = []
        for _ in range(200):
            c = socket.socket()
            c.connect(("127.0.0.1", port))
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            half.append(c)
        time.sleep(1)
        _, body, dt = fetch(port, "/metrics", {"Accept-Encoding": "gzip"})
        nfd = fds(proc.pid)
        print(f"200 half-sent requests: new scrape {dt*1000:.0f} ms, server fds {nfd}")
        target("scrape beside 200 half-sent requests", f"{dt*1000:.0f} ms", dt < 1, "< 1 s")
        target("server file descriptors", nfd, nfd <= 512 + 32, "<= 512 connections + 32")
        for c in half:
            c.close()
        time.sleep(1)
        print(f"RSS at the end: {rss_mb(proc.pid):.1f} MB")
    finally:
        proc.terminate()
        proc.wait()
    missed = [r for r in RESULTS if not r[3]]
    print(f"\n{len(RESULTS) - len(missed)} targets met, {len(missed)} missed")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
