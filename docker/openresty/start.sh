#!/bin/sh
# Writes nginx.conf for this run (port and worker count from the environment
# stackbench sets; `worker_processes auto` would follow the host's CPUs), then
# runs nginx in the foreground.
# With a certificate (a scenario's `tls = true`: $STACKBENCH_TLS_CERT and $STACKBENCH_TLS_KEY) it
# serves TLS, and HTTP/2 beside HTTP/1.1 (agreed by ALPN).
set -eu
LISTEN=""
TLS=""
if [ -n "${STACKBENCH_TLS_CERT:-}" ]; then
    LISTEN="ssl http2"
    TLS="ssl_certificate ${STACKBENCH_TLS_CERT}; ssl_certificate_key ${STACKBENCH_TLS_KEY};"
fi
sed -e "s/@HOST@/${STACKBENCH_HOST:-127.0.0.1}/" \
    -e "s/@PORT@/${STACKBENCH_PORT:-8000}/" \
    -e "s/@WORKERS@/${STACKBENCH_WORKERS:-1}/" \
    -e "s|@LISTEN@|${LISTEN}|" \
    -e "s|@TLS@|${TLS}|" \
    /etc/stackbench/nginx.conf.template > /etc/stackbench/nginx.conf
exec nginx -c /etc/stackbench/nginx.conf -g 'daemon off;'
