#!/usr/bin/env bash
# warden-probe PORT [PATH]: the containers' healthcheck, with nothing but bash (the image has no
# curl). Without PATH it succeeds when 127.0.0.1:PORT accepts a TCP connection (anvil); with PATH
# when `GET PATH` answers 200 or 206: the EigenLayer node API's /eigen/node/health says 200 when
# every service is up and 206 when up but syncing or partially healthy, 503 when a critical one
# is down.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: warden-probe PORT [PATH]" >&2
    exit 2
fi
port=$1
path=${2:-}

exec 3<>"/dev/tcp/127.0.0.1/${port}"
if [[ -z $path ]]; then
    exit 0
fi
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&3
# The status line: "HTTP/1.x CODE REASON".
read -r -t 5 _ status _ <&3
case $status in
    200 | 206) exit 0 ;;
    *)
        echo "GET ${path} on port ${port}: HTTP ${status:-no answer}" >&2
        exit 1
        ;;
esac
