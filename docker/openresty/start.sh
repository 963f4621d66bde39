#!/bin/sh
# Writes nginx.conf for this run (port and worker count from the environment
# stackbench sets; `worker_processes auto` would follow the host's CPUs), then
# runs nginx in the foreground.
set -eu
sed -e "s/@HOST@/${STACKBENCH_HOST:-127.0.0.1}/" \
    -e "s/@PORT@/${STACKBENCH_PORT:-8000}/" \
    -e "s/@WORKERS@/${STACKBENCH_WORKERS:-1}/" \
    /etc/stackbench/nginx.conf.template > /etc/stackbench/nginx.conf
exec nginx -c /etc/stackbench/nginx.conf -g 'daemon off;'
