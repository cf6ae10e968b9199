#!/usr/bin/env bash
# make-dev-certs.sh — generate throwaway development/test certificates for shimgate.
#
# Usage: certs/make-dev-certs.sh [OUTPUT_DIR]     (default: certs/dev next to this script)
#
# Creates (see certs/README.md for what each file is for):
#   ca.pem ca.key               development CA (EC P-256, 30 days)
#   ca-bundle.pem               client-side trust bundle (= ca.pem)
#   server.pem server.key       leaf for localhost, 127.0.0.1, ::1 (serverAuth)
#   server-chain.pem            server.pem followed by ca.pem
#   wrong-host.pem/.key         valid leaf, but only for DNS:wrong.example
#   expired.pem/.key            leaf for localhost/127.0.0.1/::1, expired in 2020
#   untrusted.pem/.key          leaf for localhost/127.0.0.1/::1 from a discarded, unrelated CA
#   mismatched.key              key that does NOT belong to server.pem
#
# Needs only the openssl 3 CLI. No network, no prompts. Re-running regenerates everything.
# Nothing it writes may ever be committed (see .gitignore).
set -euo pipefail

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
out=${1:-"$script_dir/dev"}

command -v openssl >/dev/null 2>&1 || { echo "make-dev-certs: openssl not found in PATH" >&2; exit 1; }

mkdir -p -- "$out"
out=$(cd -- "$out" && pwd)

# Everything is built in a private temp dir inside $out (same filesystem, so the final
# mv is a rename) and only moved into place once it all succeeded.
umask 077
tmp=$(mktemp -d "$out/.make-dev-certs.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
log=$tmp/openssl.log

# Never let a user/system OPENSSL_CONF change what we generate; every command that
# reads a config gets ours explicitly.
unset OPENSSL_CONF || true

# run CMD...: run quietly, dump the collected openssl output and fail on error.
run() {
    if ! "$@" >>"$log" 2>&1; then
        echo "make-dev-certs: command failed: $*" >&2
        cat -- "$log" >&2
        exit 1
    fi
}

cat >"$tmp/openssl.cnf" <<'EOF'
# Minimal, self-contained config (no dependency on /usr/lib/ssl/openssl.cnf).
[ req ]
distinguished_name = req_dn
prompt             = no
default_md         = sha256
[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints       = critical, CA:true
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_localhost ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName         = DNS:localhost, IP:127.0.0.1, IP:::1

[ v3_wrong_host ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName         = DNS:wrong.example

# Used only by `openssl ca` for the back-dated (expired) certificate, because the
# OpenSSL 3.0 `x509` command has no -not_before/-not_after.
[ ca ]
default_ca = dev_ca
[ dev_ca ]
dir              = $ENV::MAKE_DEV_CERTS_TMP/ca-db
database         = $dir/index.txt
serial           = $dir/serial
new_certs_dir    = $dir/new
certificate      = $ENV::MAKE_DEV_CERTS_TMP/ca.pem
private_key      = $ENV::MAKE_DEV_CERTS_TMP/ca.key
default_md       = sha256
policy           = policy_any
unique_subject   = no
copy_extensions  = none
email_in_dn      = no
[ policy_any ]
commonName = supplied
EOF
# The [dev_ca] paths point into the temp dir via $ENV:: (no sed on arbitrary paths).
export MAKE_DEV_CERTS_TMP=$tmp
cnf=$tmp/openssl.cnf

newkey() { # newkey FILE
    run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

serial() { echo "0x$(openssl rand -hex 16)"; }

# sign NAME CN EXT_SECTION CA_CERT CA_KEY: key + CSR + certificate (30 days) for NAME.
sign() {
    local name=$1 cn=$2 ext=$3 ca_cert=$4 ca_key=$5
    newkey "$tmp/$name.key"
    run openssl req -new -config "$cnf" -key "$tmp/$name.key" -subj "/CN=$cn" -out "$tmp/$name.csr"
    run openssl x509 -req -in "$tmp/$name.csr" -CA "$ca_cert" -CAkey "$ca_key" \
        -set_serial "$(serial)" -days 30 -sha256 \
        -extfile "$cnf" -extensions "$ext" -out "$tmp/$name.pem"
}

# --- development CA ---------------------------------------------------------------
newkey "$tmp/ca.key"
run openssl req -new -x509 -config "$cnf" -key "$tmp/ca.key" \
    -subj "/O=shimgate development/CN=shimgate dev CA" \
    -set_serial "$(serial)" -days 30 -sha256 -extensions v3_ca -out "$tmp/ca.pem"
cp -- "$tmp/ca.pem" "$tmp/ca-bundle.pem"

# --- server leaf + chain file -----------------------------------------------------------
sign server localhost v3_localhost "$tmp/ca.pem" "$tmp/ca.key"
cat -- "$tmp/server.pem" "$tmp/ca.pem" >"$tmp/server-chain.pem"

# --- wrong host name (valid chain, SAN only DNS:wrong.example) -----------------------
sign wrong-host wrong.example v3_wrong_host "$tmp/ca.pem" "$tmp/ca.key"

# --- expired (valid chain and names, validity 2020-01-01 .. 2020-01-02) --------------
mkdir -p "$tmp/ca-db/new"
: >"$tmp/ca-db/index.txt"
openssl rand -hex 16 >"$tmp/ca-db/serial"
newkey "$tmp/expired.key"
run openssl req -new -config "$cnf" -key "$tmp/expired.key" -subj "/CN=localhost" -out "$tmp/expired.csr"
run openssl ca -batch -config "$cnf" -notext -preserveDN \
    -startdate 20200101000000Z -enddate 20200102000000Z \
    -extensions v3_localhost -in "$tmp/expired.csr" -out "$tmp/expired.pem"

# --- untrusted (right names, issued by a throwaway CA whose key is discarded) --------
newkey "$tmp/other-ca.key"
run openssl req -new -x509 -config "$cnf" -key "$tmp/other-ca.key" \
    -subj "/O=shimgate untrusted/CN=shimgate throwaway CA" \
    -set_serial "$(serial)" -days 30 -sha256 -extensions v3_ca -out "$tmp/other-ca.pem"
sign untrusted localhost v3_localhost "$tmp/other-ca.pem" "$tmp/other-ca.key"

# --- key that does not match server.pem ------------------------------------------------
newkey "$tmp/mismatched.key"

# --- sanity checks (cheap; fail loudly rather than hand out a broken set) -------------
run openssl verify -CAfile "$tmp/ca.pem" -verify_hostname localhost -verify_ip 127.0.0.1 "$tmp/server.pem"
run openssl verify -CAfile "$tmp/ca.pem" "$tmp/wrong-host.pem"
if openssl x509 -in "$tmp/expired.pem" -noout -checkend 0 >/dev/null 2>&1; then
    echo "make-dev-certs: expired.pem is unexpectedly still valid" >&2; exit 1
fi
pub() { openssl pkey -in "$1" -pubout 2>>"$log"; }
certpub() { openssl x509 -in "$1" -noout -pubkey 2>>"$log"; }
[[ "$(pub "$tmp/server.key")" == "$(certpub "$tmp/server.pem")" ]] \
    || { echo "make-dev-certs: server.key does not match server.pem" >&2; exit 1; }
[[ "$(pub "$tmp/mismatched.key")" != "$(certpub "$tmp/server.pem")" ]] \
    || { echo "make-dev-certs: mismatched.key matches server.pem" >&2; exit 1; }

# --- install ------------------------------------------------------------------------------
certs=(ca.pem ca-bundle.pem server.pem server-chain.pem wrong-host.pem expired.pem untrusted.pem)
keys=(ca.key server.key wrong-host.key expired.key untrusted.key mismatched.key)
chmod 644 "${certs[@]/#/$tmp/}"
chmod 600 "${keys[@]/#/$tmp/}"
for f in "${certs[@]}" "${keys[@]}"; do
    mv -f -- "$tmp/$f" "$out/$f"
done

echo "make-dev-certs: wrote development certificates to $out"
