#!/bin/sh
# Adds the distribution's Docker engine to the lab host image (the
# pre-baked variant, for speed). Runs inside a plain container of the base
# image, without systemd: the package's start request is skipped and
# systemd starts dockerd when a node boots.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends docker.io
apt-get clean
rm -rf /var/lib/apt/lists/*
