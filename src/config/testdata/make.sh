#!/bin/sh
# Test-only PEM files for the config's certificate checks (src/config/tls-files.test.ts,
# load.test.ts). Regenerate with `sh src/config/testdata/make.sh` (needs openssl). Never use
# these keys for anything but tests: they are public.
#   ca.crt          a test CA (its key is thrown away)
#   localhost.crt   full chain: leaf for localhost / 127.0.0.1 / ::1 signed by the CA, then the CA
#   localhost.key   the leaf's key (EC P-256, PKCS#8, unencrypted)
#   other.key       a key that matches no certificate here
#   encrypted.key   localhost.key encrypted with the passphrase "test"
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" -out ca.crt \
  -days 36500 -subj "/CN=Fairway Test CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out localhost.key
openssl req -new -key localhost.key -subj "/CN=localhost" -out "$tmp/leaf.csr"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' > "$tmp/ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA ca.crt -CAkey "$tmp/ca.key" -CAcreateserial -CAserial "$tmp/ca.srl" -days 36500 -extfile "$tmp/ext" -out "$tmp/leaf.crt"
cat "$tmp/leaf.crt" ca.crt > localhost.crt
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key
openssl pkcs8 -topk8 -in localhost.key -passout pass:test -v2 aes-256-cbc -out encrypted.key
