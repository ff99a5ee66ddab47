#!/bin/sh
# Makes a local CA, a certificate for the broker and client certificates for
# devices, with openssl alone. docs/security.md explains each step; the TLS
# tests run this very script.
#
#   scripts/make-certs.sh DIR [BROKER-NAME] [DEVICE...]
#
# DIR gets ca.crt/ca.key (keep ca.key offline), server.crt/server.key (for
# tls_cert/tls_key) and DEVICE.crt/DEVICE.key for each device, whose
# certificate's common name is DEVICE (its username with
# tls_identity_as_username). BROKER-NAME (default hearth.local) is the name
# devices use to reach the broker; localhost and 127.0.0.1 are added.
set -eu
dir=$1
name=${2:-hearth.local}
[ $# -ge 2 ] && shift 2 || shift $#
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# 1. The CA: a key and a self-signed certificate, valid ten years.
if [ ! -f ca.crt ]; then
    key ca.key
    openssl req -x509 -new -key ca.key -days 3650 -subj "/CN=Hearth home CA" -out ca.crt
fi

# 2. The broker: a key, and a certificate the CA signs for its names.
key server.key
openssl req -new -key server.key -subj "/CN=$name" -out server.csr
printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$name" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
    -extfile server.ext -out server.crt 2>/dev/null

# 3. Each device: a key, and a client certificate whose CN is its name.
for device in "$@"; do
    key "$device.key"
    openssl req -new -key "$device.key" -subj "/CN=$device" -out "$device.csr"
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl x509 -req -in "$device.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
        -extfile client.ext -out "$device.crt" 2>/dev/null
done
rm -f ./*.csr ./*.ext
chmod 600 ./*.key
echo "certificates in $dir: ca.crt, server.crt/server.key${*:+, and for $*}"
