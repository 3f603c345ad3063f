#!/usr/bin/env python3
"""A tiny HTTP server standing in for images Debian does not package
(dockersamples/visualizer, portainer/portainer-ce, portainer/agent). It
answers 200 with its name on every port those images listen on (8080,
9000, 9001, 9443, 8000), so a stack deploys and health checks pass. It
ignores its arguments (portainer's -H ...)."""
import http.server
import os
import socketserver
import threading

NAME = os.environ.get("STANDIN_NAME", "stand-in")
PORTS = [int(p) for p in os.environ.get("STANDIN_PORTS", "8000 8080 9000 9001 9443").split()]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("<!doctype html><title>%s</title><p>%s stand-in: Docker Hub is out of reach here.\n" % (NAME, NAME)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


servers = [Server(("", p), Handler) for p in PORTS]
print("%s stand-in: HTTP on %s" % (NAME, " ".join(map(str, PORTS))), flush=True)
for s in servers[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
servers[0].serve_forever()
