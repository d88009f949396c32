#!/usr/bin/env bash
# Generate the seed corpora of every fuzz target into fuzz/corpus/<target>/
# (git-ignored). Everything is made here with openssl, keytool and python3:
# nothing is downloaded, and no private key is ever committed (the keys made
# here live in a temporary directory and inside the ignored corpus files, where
# the harnesses use them as markers: key bytes must never reach any output).
#
# Usage: fuzz/gen-corpus.sh            (from the repository root or fuzz/)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${CORPUS_DIR:-$here/corpus}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

targets=(parse_object crl ocsp aia config webconfig docker_tar kubernetes kubeconfig jks http starttls)
for t in "${targets[@]}"; do mkdir -p "$out/$t"; done

# --- a small PKI: CA (EC P-256), leaf (RSA 2048), revoked leaf ----------------
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj "/CN=Fuzz CA/O=certvigil" -days 3650 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -out ca.pem 2>/dev/null
openssl genrsa -out leaf.key 2048 2>/dev/null
openssl req -new -key leaf.key -subj "/CN=leaf.example" -out leaf.csr 2>/dev/null
cat > ext.cnf <<'EOF'
subjectAltName=DNS:leaf.example,IP:192.0.2.1
authorityInfoAccess=OCSP;URI:http://127.0.0.1:1/ocsp,caIssuers;URI:http://127.0.0.1:1/ca.der
crlDistributionPoints=URI:http://127.0.0.1:1/ca.crl
EOF
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x1001 -days 825 \
  -extfile ext.cnf -out leaf.pem 2>/dev/null
openssl req -x509 -new -key leaf.key -subj "/CN=revoked" -days 30 -out revoked.pem 2>/dev/null
openssl x509 -in ca.pem -outform DER -out ca.der
openssl x509 -in leaf.pem -outform DER -out leaf.der

# An openssl "ca" database for the CRL and the OCSP responder.
mkdir -p db && : > db/index.txt && echo 1000 > db/crlnumber
cat > ca.cnf <<EOF
[ca]
default_ca = fuzz
[fuzz]
database = $work/db/index.txt
crlnumber = $work/db/crlnumber
certificate = $work/ca.pem
private_key = $work/ca.key
default_md = sha256
default_crl_days = 30
EOF
openssl ca -config ca.cnf -revoke leaf.pem -crl_reason keyCompromise 2>/dev/null
openssl ca -config ca.cnf -gencrl -out ca.crl.pem 2>/dev/null
openssl crl -in ca.crl.pem -outform DER -out ca.crl.der

# --- parse_object: hint byte (0 auto, 1 pem, 2 der, 3 pkcs12) + object ---------
seed() { # seed <target> <name> <hint-byte-or-empty> <file>
  local t=$1 n=$2 h=$3 f=$4
  if [ -n "$h" ]; then { printf "\\x$h"; cat "$f"; } > "$out/$t/$n"; else cp "$f" "$out/$t/$n"; fi
}
cat leaf.pem leaf.key ca.pem > bundle_with_key.pem
seed parse_object pem_bundle_key 00 bundle_with_key.pem
seed parse_object pem_hint 01 leaf.pem
seed parse_object der 02 leaf.der
seed parse_object der_auto 00 ca.der
openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile ca.pem -passout pass:changeit \
  -out leaf.p12 2>/dev/null
seed parse_object p12 03 leaf.p12
seed parse_object p12_auto 00 leaf.p12
openssl pkcs12 -export -in leaf.pem -inkey leaf.key -passout pass:wrong -out wrong.p12 2>/dev/null
seed parse_object p12_wrong 03 wrong.p12

# --- Java keystores (keytool) ---------------------------------------------------
if command -v keytool >/dev/null 2>&1; then
  for st in JKS JCEKS; do
    keytool -genkeypair -keystore "ks.$st" -storetype "$st" -storepass changeit \
      -keypass changeit -alias key -keyalg EC -groupname secp256r1 -dname "CN=jks $st" \
      -validity 30 >/dev/null 2>&1
    keytool -importcert -noprompt -keystore "ks.$st" -storetype "$st" -storepass changeit \
      -alias ca -file ca.pem >/dev/null 2>&1
    cp "ks.$st" "$out/jks/$st"
    seed parse_object "jks_$st" 00 "ks.$st"
  done
  keytool -importcert -noprompt -keystore trust.jks -storetype JKS -storepass notchangeit \
    -alias ca -file ca.pem >/dev/null 2>&1
  cp trust.jks "$out/jks/wrong_password"
else
  echo "gen-corpus: keytool missing, no JKS seeds" >&2
fi

# --- crl -------------------------------------------------------------------------
cp ca.crl.pem "$out/crl/pem"
cp ca.crl.der "$out/crl/der"

# --- ocsp: u16 len | issuer DER | u16 len | leaf DER | response -----------------
openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout req.der 2>/dev/null
openssl ocsp -index db/index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -reqin req.der \
  -respout resp.der -ndays 7 >/dev/null 2>&1
openssl ocsp -issuer ca.pem -cert leaf.pem -reqout req_nonce.der 2>/dev/null
openssl ocsp -index db/index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -reqin req_nonce.der \
  -respout resp_nonce.der -ndays 7 >/dev/null 2>&1
python3 - "$out/ocsp" <<'EOF'
import struct, sys
d = sys.argv[1]
ca = open("ca.der", "rb").read(); leaf = open("leaf.der", "rb").read()
head = struct.pack(">H", len(ca)) + ca + struct.pack(">H", len(leaf)) + leaf
for name in ("resp", "resp_nonce"):
    open(f"{d}/{name}", "wb").write(head + open(f"{name}.der", "rb").read())
open(f"{d}/unauthorized", "wb").write(head + bytes.fromhex("30030a0106"))
EOF

# --- aia: DER, PEM, PKCS#7 --------------------------------------------------------
cp ca.der "$out/aia/der"
cat ca.pem leaf.pem > "$out/aia/pem"
openssl crl2pkcs7 -nocrl -certfile ca.pem -certfile leaf.pem -outform DER -out "$out/aia/p7c" 2>/dev/null

# --- config: every YAML example of docs/configuration.md and the deploy configs ----
python3 - "$root" "$out/config" <<'EOF'
import pathlib, re, sys
root, d = pathlib.Path(sys.argv[1]), sys.argv[2]
n = 0
for md in sorted((root / "docs").glob("*.md")):
    for block in re.findall(r"```ya?ml\n(.*?)```", md.read_text(), re.S):
        n += 1
        open(f"{d}/{md.stem}_{n}.yaml", "w").write(block)
EOF

# --- webconfig ---------------------------------------------------------------------
cat > "$out/webconfig/tls" <<'EOF'
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS12
http_server_config:
  headers:
    Strict-Transport-Security: max-age=31536000
EOF
printf 'http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n' > "$out/webconfig/headers"
printf 'Basic dXNlcjpwYXNzd29yZA==' > "$out/webconfig/auth_header"

# --- docker_tar: chunk byte + a tar stream (ustar, GNU long name, PAX, symlink) ----
mkdir -p tree/etc/ssl/certs tree/etc/ssl/private
cp leaf.pem tree/etc/ssl/certs/leaf.pem
cp leaf.key tree/etc/ssl/private/leaf.key
ln -s leaf.pem tree/etc/ssl/certs/link.pem
long="tree/etc/ssl/certs/$(printf 'd%.0s' {1..120}).pem"
cp ca.pem "$long"
tar --format=gnu -C tree -cf gnu.tar etc
tar --format=pax -C tree -cf pax.tar etc
tar --format=ustar -C tree -cf ustar.tar etc/ssl/certs/leaf.pem etc/ssl/certs/link.pem
seed docker_tar gnu 00 gnu.tar
seed docker_tar pax 07 pax.tar
seed docker_tar ustar 49 ustar.tar

# --- kubernetes: kind byte + JSON object --------------------------------------------
python3 - "$out/kubernetes" <<'EOF'
import base64, json, sys
d = sys.argv[1]
b = lambda p: base64.b64encode(open(p, "rb").read()).decode()
t = lambda p: open(p).read()
meta = {"name": "web", "namespace": "prod", "labels": {"app": "web"}}
objs = {
  "secret_tls": (0, {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "kubernetes.io/tls",
                     "data": {"tls.crt": b("bundle_with_key.pem"), "tls.key": b("leaf.key"), "ca.crt": b("ca.pem")}}),
  "secret_p12": (0, {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
                     "data": {"keystore.p12": b("leaf.p12"), "password": base64.b64encode(b"changeit").decode()}}),
  "configmap": (1, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "x"},
                    "data": {"ca.crt": t("ca.pem"), "mixed.pem": t("bundle_with_key.pem")}}),
  "csr": (2, {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "c"},
              "spec": {"request": b("leaf.csr"), "signerName": "x/y", "usages": ["server auth"]},
              "status": {"certificate": b("leaf.pem")}}),
  "validating": (3, {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                     "metadata": {"name": "v"}, "webhooks": [{"name": "w.example", "clientConfig": {"caBundle": b("ca.pem")}}]}),
  "mutating": (4, {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                   "metadata": {"name": "m"}, "webhooks": [{"name": "m.example", "clientConfig": {"caBundle": b("ca.pem")}}]}),
  "apiservice": (5, {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1.x"},
                     "spec": {"caBundle": b("ca.pem"), "group": "x", "version": "v1"}}),
  "crd": (6, {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "a.b"},
              "spec": {"conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"caBundle": b("ca.pem")}}}}}),
}
for name, (kind, o) in objs.items():
    open(f"{d}/{name}", "wb").write(bytes([kind]) + json.dumps(o).encode())
EOF

# --- kubeconfig --------------------------------------------------------------------
python3 - "$out/kubeconfig" <<'EOF'
import base64, sys
d = sys.argv[1]
b = lambda p: base64.b64encode(open(p, "rb").read()).decode()
open(f"{d}/embedded", "w").write(f"""apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: {b("ca.pem")}
users:
- name: admin
  user:
    client-certificate-data: {b("leaf.pem")}
    client-key-data: {b("leaf.key")}
contexts:
- name: prod
  context: {{cluster: prod, user: admin}}
current-context: prod
""")
open(f"{d}/files", "w").write("""apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1", certificate-authority: ca.crt}
users:
- name: u
  user: {client-certificate: /nonexistent/u.crt, client-key: u.key}
""")
EOF

# --- http: query line, Accept line, Authorization line --------------------------------
printf 'q=web%%20prod&source_kind=file&status=expiring&format=json\napplication/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=1\nBasic dXNlcjpwYXNz\n' > "$out/http/typical"
printf 'q=%%E2%%82%%AC%%zz+%%&&=&format=csv&format=md\n*/*\nBasic !!!\n' > "$out/http/odd"
printf '[::1]:9793\ntext/plain\n' > "$out/http/listen"

# --- starttls: protocol byte | write-size byte | the server's replies ---------------
# protocol: 0 smtp 1 lmtp 2 imap 3 pop3 4 ftp 5 ldap 6 postgres 7 mysql 8 xmpp
python3 - "$out/starttls" <<'PY'
import os, sys
d = sys.argv[1]
def put(name, proto, chunk, body):
    open(os.path.join(d, name), "wb").write(bytes([proto, chunk]) + body)
put("smtp", 0, 7, b"220-mail.example ESMTP\r\n220 ready\r\n250-mail.example\r\n250-SIZE 1000\r\n250 STARTTLS\r\n220 2.0.0 go ahead\r\n")
put("lmtp", 1, 63, b"220 lmtp ready\r\n250-lmtp\r\n250 STARTTLS\r\n220 go\r\n")
put("smtp_refused", 0, 3, b"220 mail\r\n250-mail\r\n250 STARTTLS\r\n454 TLS not available\r\n")
put("imap", 2, 11, b"* OK IMAP4rev1 ready\r\n* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\ncv1 OK done\r\ncv2 OK begin TLS\r\n")
put("pop3", 3, 5, b"+OK POP3 ready\r\n+OK capa\r\nUSER\r\nSTLS\r\n.\r\n+OK begin TLS\r\n")
put("ftp", 4, 63, b"220 FTP ready\r\n234 AUTH TLS ok\r\n")
oid = b"1.3.6.1.4.1.1466.20037"
resp = b"\x0a\x01\x00\x04\x00\x04\x00" + b"\x8a" + bytes([len(oid)]) + oid
op = b"\x78" + bytes([len(resp)]) + resp
msg = b"\x02\x01\x01" + op
put("ldap", 5, 4, b"\x30" + bytes([len(msg)]) + msg)
put("postgres", 6, 1, b"S")
payload = b"\x0a" + b"8.0.36\x00" + b"\x01\x00\x00\x00" + b"abcdefgh" + b"\x00" + (0x0800 | 0x0200 | 0x8000).to_bytes(2, "little") + b"\x2d" + b"\x02\x00" + b"\x00\x00" + b"\x15" + b"\x00" * 10 + b"ijklmnopqrst\x00"
put("mysql", 7, 16, len(payload).to_bytes(3, "little") + b"\x00" + payload)
put("xmpp", 8, 32, b"<?xml version='1.0'?><stream:stream from='example.com' id='1' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
put("injection", 0, 63, b"220 mail\r\n250 STARTTLS\r\n220 go\r\nEHLO injected\r\n")
PY

for t in "${targets[@]}"; do
  printf '%-13s %s seeds\n' "$t" "$(find "$out/$t" -type f | wc -l)"
done
