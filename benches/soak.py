#!/usr/bin/env python3
"""Soak and fault benchmark of `certvigil serve` (docs/performance.md, "Soak and faults").

Three phases against the release binary on 127.0.0.1, each printing its targets
with OK or MISSED (exit code 1 if any is missed):

* churn: a file source (watch on, `scan.interval: 5s`) over a directory that is
  changed for --churn-seconds (default 600): files added, rewritten in place,
  deleted, renamed over, and a Kubernetes atomic-writer volume whose `..data`
  symlink is swapped (adds and deletes balance: 250..350 files). VmRSS is
  sampled every second; the median of the last
  minute may exceed the median of the minute after the warm-up by < 10%. After
  the churn stops, `/metrics` (`x509_cert_info` filepath + sha256_fingerprint)
  and `/api/v1/certificates` must equal what is on disk exactly (fingerprints
  computed from the files; the volume under its stable path).
* reload: 200 reloads alternating a good and a bad configuration, alternately by
  `POST /-/reload` and SIGHUP, while two threads scrape `/metrics` and
  `/api/v1/certificates`: no 5xx, POST answers 200 (good) / 400 (bad), the last
  good configuration is in effect, file descriptors and RSS do not grow.
* faults: next to 50 good certificates, a FIFO, a 2 GB sparse file, a PEM of
  10,000 certificates, a certificate 200 directories deep, 100,000 tiny
  non-certificate files, and files created and deleted continuously (deleted
  between stat and read): the process stays up, every good certificate (and all
  10,000 of the bundle) is published, and each fault is an error entry at its
  location with a reason from the bounded set and a bounded message.

Needs: python3 with `cryptography`, `mkfifo`.
Run: cargo build --release --bin certvigil && python3 benches/soak.py
Options: --phases churn,reload,faults  --churn-seconds S  --bin PATH  --dir DIR
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The bounded reason set (docs/metrics.md, model::Reason).
REASONS = {
    "bad_pem", "bad_der", "no_certificate_found", "bad_pkcs12", "bad_passphrase",
    "read_failed", "permission_denied", "not_found", "broken_symlink", "too_large",
    "source_unavailable", "api_error", "decode_failed", "crl_fetch_failed",
    "ocsp_failed", "timeout", "aia_fetch_failed", "bad_crl", "bad_jks",
    "connect_failed", "starttls_failed", "starttls_injection", "tls_handshake_failed",
}
MAX_MESSAGE = 2048

MISSED = []


def target(what, value, ok, goal):
    print(f"  {'OK    ' if ok else 'MISSED'} {what}: {value} (target {goal})", flush=True)
    if not ok:
        MISSED.append(what)


# ---------------------------------------------------------------- certificates

class Pool:
    """Distinct leaf certificates signed by one CA (one key: fast)."""

    def __init__(self):
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Soak CA")])
        self.n = 0

    def pem(self):
        self.n += 1
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"soak-{self.n}.test")]))
            .issuer_name(self.ca_name)
            .public_key(self.key.public_key())
            .serial_number(1000 + self.n)
            .not_valid_before(self.now - datetime.timedelta(days=1))
            .not_valid_after(self.now + datetime.timedelta(days=30 + self.n % 300))
            .sign(self.ca_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)


def fingerprints(data):
    out = []
    for block in re.findall(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", data, re.S):
        c = x509.load_pem_x509_certificate(block)
        out.append(c.fingerprint(hashes.SHA256()).hex())
    return out


def write_atomic(path, data):
    tmp = path + ".tmp~"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


# ---------------------------------------------------------------- the server

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fetch(port, path, method="GET", timeout=30):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=b"" if method != "GET" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def config_yaml(port, paths, extra_source="", cluster="", interval="5s", max_file_size="1MiB"):
    plist = "".join(f"      - {json.dumps(p)}\n" for p in paths)
    return f"""scan:
  interval: {interval}
  source_timeout: 5m
server:
  listen: "127.0.0.1:{port}"
metrics:
  cluster: "{cluster}"
trust:
  system_roots: false
revocation:
  offline: true
docker:
  enabled: false
kubernetes:
  enabled: false
sources:
  - kind: file
    name: soak
    paths:
{plist}    max_file_size: {max_file_size}
    watch:
      enabled: true
      debounce: 200ms
{extra_source}"""


class Server:
    def __init__(self, bin_, cfg_path, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([bin_, "serve", "--config", cfg_path, "--offline"],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        self.port = None

    def wait_ready(self, port):
        self.port = port
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"certvigil exited with {self.proc.returncode}: see {self.log.name}")
            try:
                if fetch(port, "/readyz", timeout=5)[0] == 200:
                    return
            except Exception:
                pass
            time.sleep(0.1)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def inventory(port):
    st, body = fetch(port, "/api/v1/certificates", timeout=120)
    if st != 200:
        return None
    return json.loads(body)


INFO_RE = re.compile(r'^x509_cert_info\{(.*)\} ', re.M)
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics_pairs(port):
    st, body = fetch(port, "/metrics", timeout=120)
    if st != 200:
        return None
    pairs = []
    for m in INFO_RE.finditer(body.decode()):
        labels = dict(LABEL_RE.findall(m.group(1)))
        pairs.append((labels.get("filepath", ""), labels.get("sha256_fingerprint", "")))
    return sorted(pairs)


# ---------------------------------------------------------------- churn

def disk_state(root):
    """(path, fingerprint) of every certificate as certvigil should label it."""
    pairs = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        writer = os.path.islink(os.path.join(dirpath, "..data"))
        if writer:
            # The visible names only (the stable paths).
            dirnames[:] = [d for d in dirnames if not d.startswith("..")]
        names = filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for n in names:
            if writer and n.startswith(".."):
                continue
            p = os.path.join(dirpath, n)
            if n.endswith(".tmp~") or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                for fp in fingerprints(f.read()):
                    pairs.append((p, fp))
    return sorted(pairs)


def swap_volume(vol, pool, gen):
    ts = f"..2026_12_08_00_00_00.{gen:09d}"
    os.makedirs(os.path.join(vol, ts))
    with open(os.path.join(vol, ts, "tls.crt"), "wb") as f:
        f.write(pool.pem())
    with open(os.path.join(vol, ts, "ca.crt"), "wb") as f:
        f.write(pool.pem())
    old = os.readlink(os.path.join(vol, "..data")) if os.path.islink(os.path.join(vol, "..data")) else None
    os.symlink(ts, os.path.join(vol, "..data_tmp"))
    os.rename(os.path.join(vol, "..data_tmp"), os.path.join(vol, "..data"))
    for n in ("tls.crt", "ca.crt"):
        if not os.path.islink(os.path.join(vol, n)):
            os.symlink(f"..data/{n}", os.path.join(vol, n))
    if old:
        shutil.rmtree(os.path.join(vol, old))


def phase_churn(args, work):
    print(f"== churn: {args.churn_seconds} s of file changes, scan.interval 5s, watch on", flush=True)
    root = os.path.join(work, "churn")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    pool = Pool()
    rnd = random.Random(18)
    files = []
    for i in range(300):
        d = os.path.join(root, f"d{i % 10}")
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, f"c{i}.pem")
        with open(p, "wb") as f:
            f.write(pool.pem())
        files.append(p)
    vol = os.path.join(root, "secret-volume")
    os.makedirs(vol)
    gen = 1
    swap_volume(vol, pool, gen)
    port = free_port()
    cfg = os.path.join(work, "churn.yaml")
    with open(cfg, "w") as f:
        f.write(config_yaml(port, [root]))
    srv = Server(args.bin, cfg, os.path.join(work, "churn.log"))
    srv.wait_ready(port)
    samples = []
    ops = {"add": 0, "modify": 0, "delete": 0, "rename_over": 0, "data_swap": 0}
    scrape_errors = [0]
    stop = threading.Event()

    def scraper():
        while not stop.is_set():
            try:
                st, _ = fetch(port, "/metrics", timeout=60)
                if st >= 500:
                    scrape_errors[0] += 1
            except Exception:
                scrape_errors[0] += 1
            stop.wait(2)

    th = threading.Thread(target=scraper, daemon=True)
    th.start()
    start = time.monotonic()
    next_sample = start
    counter = 300
    while time.monotonic() - start < args.churn_seconds:
        now = time.monotonic()
        if now >= next_sample:
            samples.append((now - start, rss_mb(srv.proc.pid)))
            next_sample += 1.0
        if not srv.alive():
            break
        # Adds and deletes balance (the file count stays within 250..350), so the
        # inventory, and the memory it needs, stays the same size.
        op = rnd.choice(["add", "modify", "delete", "rename_over", "data_swap"])
        if (op == "add" and len(files) >= 350) or (op == "delete" and len(files) <= 250):
            op = "modify"
        if op == "add" or not files:
            counter += 1
            d = os.path.join(root, f"d{counter % 10}")
            p = os.path.join(d, f"c{counter}.pem")
            with open(p, "wb") as f:
                f.write(pool.pem())
            files.append(p)
            op = "add"
        elif op == "modify":
            p = rnd.choice(files)
            with open(p, "wb") as f:  # in place: truncate + write
                f.write(pool.pem())
        elif op == "delete":
            p = files.pop(rnd.randrange(len(files)))
            os.unlink(p)
        elif op == "rename_over":
            write_atomic(rnd.choice(files), pool.pem())
        elif op == "data_swap":
            gen += 1
            swap_volume(vol, pool, gen)
        ops[op] += 1
        time.sleep(0.05)
    stop.set()
    th.join()
    alive = srv.alive()
    target("process alive after the churn", alive, alive, "up")
    if not alive:
        srv.stop()
        return
    print(f"  operations: {ops}, {len(files)} files + 2 in the volume at the end", flush=True)
    # Convergence: the next scans must publish exactly the files on disk.
    want = disk_state(root)
    t0 = time.monotonic()
    got_m = got_j = None
    while time.monotonic() - t0 < 60:
        got_m = metrics_pairs(port)
        inv = inventory(port)
        got_j = sorted((c["location"], c["sha256_fingerprint"]) for c in inv["certificates"]) if inv else None
        if got_m == want and got_j == want:
            break
        time.sleep(1)
    conv = time.monotonic() - t0
    target("final /metrics x509_cert_info (filepath, fingerprint) = files on disk",
           f"{len(got_m or [])} series vs {len(want)} certificates on disk, {conv:.1f} s after the churn",
           got_m == want, "equal")
    if got_m != want and got_m is not None:
        print("    only in /metrics:", sorted(set(got_m) - set(want))[:5])
        print("    only on disk:", sorted(set(want) - set(got_m))[:5])
    target("final /api/v1/certificates (location, fingerprint) = files on disk",
           f"{len(got_j or [])} certificates", got_j == want, "equal")
    stable = sorted({p for p, _ in (got_m or []) if "/secret-volume/" in p})
    target("..data volume labelled with its stable paths", stable,
           stable == [os.path.join(vol, "ca.crt"), os.path.join(vol, "tls.crt")], "secret-volume/{ca,tls}.crt")
    errs = (inv or {}).get("errors", [])
    target("errors entries after the churn", len(errs), not errs, "0")
    target("scrapes during the churn failed or 5xx", scrape_errors[0], scrape_errors[0] == 0, "0")
    # RSS: medians of the minute after warm-up and of the last minute.
    dur = samples[-1][0] if samples else 0
    warm = min(120.0, dur / 4)
    early = sorted(r for t, r in samples if warm <= t < warm + 60)
    late = sorted(r for t, r in samples if t >= dur - 60)
    if early and late:
        e, l = early[len(early) // 2], late[len(late) // 2]
        growth = (l - e) / e * 100
        peak = max(r for _, r in samples)
        target("RSS growth after warm-up (median of the last minute vs the minute after warm-up)",
               f"{e:.1f} -> {l:.1f} MB ({growth:+.1f}%), peak {peak:.1f} MB", growth < 10.0, "< 10%")
    srv.stop()


# ---------------------------------------------------------------- reloads

def phase_reload(args, work):
    print("== reload: 200 alternating good/bad reloads (POST /-/reload and SIGHUP) while scraping", flush=True)
    root = os.path.join(work, "reload")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    pool = Pool()
    for i in range(100):
        with open(os.path.join(root, f"c{i}.pem"), "wb") as f:
            f.write(pool.pem())
    port = free_port()
    cfg = os.path.join(work, "reload.yaml")
    with open(cfg, "w") as f:
        f.write(config_yaml(port, [root], cluster="g0", interval="1m"))
    srv = Server(args.bin, cfg, os.path.join(work, "reload.log"))
    srv.wait_ready(port)
    codes = {}
    failures = [0]
    stop = threading.Event()
    lock = threading.Lock()

    def scraper(path):
        while not stop.is_set():
            try:
                st, _ = fetch(port, path, timeout=60)
            except Exception:
                st = "error"
                failures[0] += 1
            with lock:
                codes[(path, st)] = codes.get((path, st), 0) + 1

    threads = [threading.Thread(target=scraper, args=(p,), daemon=True)
               for p in ("/metrics", "/api/v1/certificates")]
    for t in threads:
        t.start()
    post_wrong = 0
    fd_rss = []
    last_good = "g0"
    for i in range(200):
        good = i % 2 == 0
        by_post = (i // 2) % 2 == 0
        if good:
            last_good = f"g{i}"
            text = config_yaml(port, [root], cluster=last_good, interval="1m")
        else:
            text = config_yaml(port, [root], cluster="bad", interval="1m") + "  - kind: floppy\n    paths: [/x]\n"
        with open(cfg + ".tmp", "w") as f:
            f.write(text)
        os.rename(cfg + ".tmp", cfg)
        if by_post:
            st, body = fetch(port, "/-/reload", method="POST", timeout=60)
            if st != (200 if good else 400):
                post_wrong += 1
                print(f"    reload {i} ({'good' if good else 'bad'}): {st} {body[:200]!r}")
        else:
            srv.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
        if i in (19, 199):
            time.sleep(1)
            fd_rss.append((fds(srv.proc.pid), rss_mb(srv.proc.pid)))
        time.sleep(0.05)
    # The last reload (i = 199) was a bad one: the good one before it is in effect.
    time.sleep(1)
    st, body = fetch(port, "/metrics")
    in_effect = re.search(r'x509_cert_not_after\{[^}]*cluster="([^"]*)"', body.decode())
    stop.set()
    for t in threads:
        t.join()
    alive = srv.alive()
    target("process alive after 200 reloads", alive, alive, "up")
    fivexx = sum(n for (p, st), n in codes.items() if isinstance(st, int) and st >= 500)
    total = sum(codes.values())
    target("5xx answers while reloading", f"{fivexx} of {total} scrapes ({failures[0]} failed)",
           fivexx == 0 and failures[0] == 0, "0")
    target("POST /-/reload answers (200 good, 400 bad)", f"{post_wrong} wrong of 100", post_wrong == 0, "0 wrong")
    got = in_effect.group(1) if in_effect else None
    target("configuration in effect after the last (bad) reload", got, got == last_good, last_good)
    (f1, r1), (f2, r2) = fd_rss
    target("file descriptors after 20 → after 200 reloads", f"{f1} -> {f2}", f2 <= f1 + 2, "no growth (± 2)")
    target("RSS after 20 → after 200 reloads", f"{r1:.1f} -> {r2:.1f} MB", r2 <= r1 * 1.10 + 2, "< 10% + 2 MB")
    srv.stop()


# ---------------------------------------------------------------- faults

def phase_faults(args, work):
    print("== faults: FIFO, 2 GB sparse, 10,000-certificate PEM, 200-deep, 100k tiny files, deleted between stat and read",
          flush=True)
    root = os.path.join(work, "faults")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    pool = Pool()
    t = time.monotonic()
    good = {}
    for i in range(50):
        p = os.path.join(root, "good", f"g{i}.pem")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        data = pool.pem()
        with open(p, "wb") as f:
            f.write(data)
        good[p] = fingerprints(data)[0]
    fifo = os.path.join(root, "pipe.pem")
    os.mkfifo(fifo)
    sparse = os.path.join(root, "sparse.pem")
    with open(sparse, "wb") as f:
        f.truncate(2 * 10**9)
    bundle = os.path.join(root, "bundle.pem")
    with open(bundle, "wb") as f:
        for _ in range(10_000):
            f.write(pool.pem())
    deep = root
    for i in range(200):
        deep = os.path.join(deep, "d")
    os.makedirs(deep)
    deep_cert = os.path.join(deep, "deep.pem")
    data = pool.pem()
    with open(deep_cert, "wb") as f:
        f.write(data)
    good[deep_cert] = fingerprints(data)[0]
    tiny = os.path.join(root, "tiny")
    for i in range(100):
        os.makedirs(os.path.join(tiny, f"{i:02d}"))
        for j in range(1000):
            with open(os.path.join(tiny, f"{i:02d}", f"t{j}"), "wb") as f:
                f.write(b"not a certificate %d\n" % j)
    flicker = os.path.join(root, "flicker")
    os.makedirs(flicker)
    print(f"  corpus made in {time.monotonic() - t:.1f} s (bundle {os.path.getsize(bundle) / 1e6:.1f} MB)", flush=True)

    port = free_port()
    cfg = os.path.join(work, "faults.yaml")
    with open(cfg, "w") as f:
        f.write(config_yaml(port, [root], interval="10s", max_file_size="64MiB"))
    srv = Server(args.bin, cfg, os.path.join(work, "faults.log"))
    stop = threading.Event()
    flickers = [0]

    flick_pem = pool.pem()

    def flick():
        # Certificates that exist for a moment, under reused names: a scan stats
        # some and finds them gone, or replaced by another inode, when it reads.
        n = 0
        while not stop.is_set():
            p = os.path.join(flicker, f"f{n % 50}.pem")
            with open(p + ".tmp~", "wb") as f:
                f.write(flick_pem)
            os.rename(p + ".tmp~", p)
            if n % 3 == 0:
                os.unlink(p)
            n += 1
            if n % 200 == 0:
                time.sleep(0.01)
        flickers[0] = n

    th = threading.Thread(target=flick, daemon=True)
    th.start()
    t = time.monotonic()
    srv.wait_ready(port)
    first = time.monotonic() - t
    # A few more scans with the faults in place; errors under flicker/ are
    # collected from the inventories published meanwhile.
    flick_errs = []
    t = time.monotonic()
    while time.monotonic() - t < 30:
        inv = inventory(port)
        if inv:
            flick_errs += [(e["location"], e["reason"], e["message"][:80]) for e in inv["errors"]
                           if e["location"].startswith(flicker + "/")]
        time.sleep(2)
    stop.set()
    th.join()
    # The flicker stopped: let the watch-triggered rescan settle.
    time.sleep(8)
    alive = srv.alive()
    target("process alive with the faults", alive, alive, "up")
    if not alive:
        srv.stop()
        return
    print(f"  first scan ready after {first:.1f} s, {flickers[0]} files created and deleted meanwhile, "
          f"RSS {rss_mb(srv.proc.pid):.1f} MB", flush=True)
    inv = inventory(port)
    certs = inv["certificates"]
    errs = inv["errors"]
    have = {(c["location"], c["sha256_fingerprint"]) for c in certs}
    missing = [p for p, fp in good.items() if (p, fp) not in have]
    target("good certificates published (incl. the one 200 directories deep)",
           f"{len(good) - len(missing)} of {len(good)}", not missing, "all")
    nb = sum(1 for c in certs if c["location"] == bundle)
    target("certificates of the 10,000-certificate PEM", nb, nb == 10_000, "10000")
    by_loc = {}
    for e in errs:
        by_loc.setdefault(e["location"], []).append(e)
    unbounded = [e for e in errs if e["reason"] not in REASONS or not e["message"] or len(e["message"]) > MAX_MESSAGE]
    target("errors with a reason outside the bounded set or an unbounded message", len(unbounded),
           not unbounded, "0")

    def one(loc, reason):
        es = by_loc.get(loc, [])
        ok = len(es) == 1 and es[0]["reason"] == reason
        target(f"error at {os.path.relpath(loc, root)}", [(e["reason"], e["message"][:90]) for e in es], ok, reason)

    one(fifo, "read_failed")
    one(sparse, "too_large")
    tiny_errs = [e for e in errs if e["location"].startswith(tiny + "/")]
    tiny_reasons = sorted({e["reason"] for e in tiny_errs})
    target("tiny non-certificate files: one located error each", f"{len(tiny_errs)} errors, reasons {tiny_reasons}",
           len(tiny_errs) == 100_000 and len(tiny_reasons) == 1, "100000, one reason")
    target("files deleted or renamed over between stat and read (30 s of inventories): no error entry",
           flick_errs[:3], not flick_errs, "no entry")
    others = [e for e in errs if e["location"] not in (fifo, sparse) and not e["location"].startswith(tiny + "/")
              and not e["location"].startswith(flicker + "/")]
    target("other errors", [(e["location"], e["reason"]) for e in others[:3]], not others, "none")
    st, body = fetch(port, "/metrics", timeout=120)
    target("/metrics during the faults", f"{st}, {len(body) / 1e6:.1f} MB", st == 200, "200")
    srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                                  "release", "certvigil"))
    ap.add_argument("--dir", default=None)
    ap.add_argument("--phases", default="churn,reload,faults")
    ap.add_argument("--churn-seconds", type=float, default=600)
    args = ap.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"no binary at {args.bin}: cargo build --release --bin certvigil")
    tmp = None
    if args.dir:
        work = args.dir
        os.makedirs(work, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="certvigil-soak-")
        work = tmp.name
    print(f"binary {args.bin}, work dir {work}", flush=True)
    for ph in args.phases.split(","):
        t = time.monotonic()
        {"churn": phase_churn, "reload": phase_reload, "faults": phase_faults}[ph](args, work)
        print(f"  ({ph}: {time.monotonic() - t:.0f} s)", flush=True)
    print(f"{'ALL TARGETS MET' if not MISSED else 'MISSED: ' + ', '.join(MISSED)}")
    sys.exit(1 if MISSED else 0)


if __name__ == "__main__":
    main()
