#!/bin/sh
# make_certs.sh OUTDIR - the test PKI for the TLS tests, made fresh at test
# time (nothing is committed). Same openssl commands as docs/tls.md.
#   ca.pem / ca.key              the CA every test node trusts
#   other-ca.pem                 a CA nobody trusts
#   <n>.pem / <n>.key            node "<n>@127.0.0.1", CN = node name, no SAN
#                                (n = master, master2, slave)
#   sanonly.pem / .key           node "sanonly@127.0.0.1" named by a SAN only
#   master-expired.pem / .key    master's name, expired
#   master-otherca.pem / .key    master's name, signed by other-ca
#   intruder.pem / .key          CN = intruder@127.0.0.1 (another node name)
set -eu
out=${1:?usage: make_certs.sh OUTDIR}
mkdir -p "$out"
tmp=$(mktemp -d "$out/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

ca() { # ca NAME SUBJECT
    key "$1"
    openssl req -new -x509 -key "$1.key" -out "$1.pem" -days 3650 -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

leaf() { # leaf FILE SUBJECT CA DAYS [SAN]
    key "$1"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "$2"
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=serverAuth,clientAuth"
        [ -n "${5:-}" ] && echo "subjectAltName=$5"
        true
    } > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
        -days "$4" -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

ca ca "/O=genrpc tests/CN=genrpc test CA"
ca other-ca "/O=somebody else/CN=other CA"
for n in master master2 slave; do
    leaf "$n" "/O=genrpc tests/CN=$n@127.0.0.1" ca 365
done
leaf sanonly "/O=genrpc tests" ca 365 "email:sanonly@127.0.0.1"
leaf master-expired "/O=genrpc tests/CN=master@127.0.0.1" ca -1
leaf master-otherca "/O=genrpc tests/CN=master@127.0.0.1" other-ca 365
leaf intruder "/O=genrpc tests/CN=intruder@127.0.0.1" ca 365
rm -f ./*.srl
chmod 600 ./*.key
mv ./*.pem ./*.key "$out"/
