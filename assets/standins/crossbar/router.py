#!/usr/bin/env python3
"""Crossbar stand-in: a small WAMP v2 router (basic profile, JSON) on
Debian's python3-autobahn and python3-twisted, because crossbar itself is
not packaged in Debian and Docker Hub is out of reach in tests.

It reads crossbar's config.json (--cbdir, default /node/.crossbar) for the
port, the realms, static ticket principals and the name of a dynamic
ticket authenticator, and starts the config's class components as
sessions of their own. It routes calls and events; it does not enforce
role permissions (a stand-in for tests, never for production).
"""
import itertools
import json
import os
import subprocess
import sys

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor

HELLO, WELCOME, ABORT, CHALLENGE, AUTHENTICATE, GOODBYE, ERROR = 1, 2, 3, 4, 5, 6, 8
PUBLISH, PUBLISHED, SUBSCRIBE, SUBSCRIBED, UNSUBSCRIBE, UNSUBSCRIBED, EVENT = 16, 17, 32, 33, 34, 35, 36
CALL, RESULT, REGISTER, REGISTERED, UNREGISTER, UNREGISTERED, INVOCATION, YIELD = 48, 50, 64, 65, 66, 67, 68, 70

ids = itertools.count(1)


def load_config(argv):
    cbdir = os.environ.get("CROSSBAR_DIR", "/node/.crossbar")
    name = "config.json"
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--cbdir" and args:
            cbdir = args.pop(0)
        elif a.startswith("--cbdir="):
            cbdir = a.split("=", 1)[1]
        elif a == "--config" and args:
            name = args.pop(0)
        elif a.startswith("--config="):
            name = a.split("=", 1)[1]
    path = os.path.join(cbdir, name)
    try:
        with open(path) as f:
            return cbdir, json.load(f)
    except FileNotFoundError:
        print("crossbar stand-in: no %s, serving realm1 on 8080" % path, flush=True)
        return cbdir, {}


class Router:
    def __init__(self, config):
        self.port, self.principals, self.authenticator, self.components = 8080, {}, None, []
        for worker in config.get("workers", []):
            for comp in worker.get("components", []):
                if comp.get("type") == "class":
                    self.components.append((comp.get("classname"), comp.get("realm"), worker.get("options", {}).get("pythonpath", [])))
            for t in worker.get("transports", []):
                port = t.get("endpoint", {}).get("port")
                if port:
                    self.port = int(port)
                auths = [t.get("auth", {})] + [p.get("auth", {}) for p in t.get("paths", {}).values() if isinstance(p, dict)]
                for auth in auths:
                    ticket = auth.get("ticket", {})
                    if ticket.get("type") == "dynamic":
                        self.authenticator = ticket.get("authenticator")
                    self.principals.update(ticket.get("principals", {}))
        self.sessions = {}
        self.subscriptions = {}  # (realm, topic) -> {id, sessions}
        self.registrations = {}  # (realm, procedure) -> (id, session)
        self.pending = {}  # invocation id -> (caller, call request id) or callback


class Session(WebSocketServerProtocol):
    router = None

    def onConnect(self, request):
        if "wamp.2.json" in request.protocols:
            return "wamp.2.json"
        return None

    def onOpen(self):
        self.id, self.realm, self.hello = None, None, None

    def send(self, msg):
        self.sendMessage(json.dumps(msg).encode("utf8"))

    def onClose(self, wasClean, code, reason):
        r = self.router
        r.sessions.pop(self.id, None)
        for sub in r.subscriptions.values():
            sub["sessions"].discard(self)
        for key in [k for k, v in r.registrations.items() if v[1] is self]:
            del r.registrations[key]

    def welcome(self, authid, role, method):
        self.id = next(ids)
        self.router.sessions[self.id] = self
        self.send([WELCOME, self.id, {"authid": authid, "authrole": role, "authmethod": method,
                                      "roles": {"broker": {}, "dealer": {}}}])

    def onMessage(self, payload, isBinary):
        try:
            msg = json.loads(payload.decode("utf8"))
        except ValueError:
            self.sendClose()
            return
        r, kind = self.router, msg[0]
        if kind == HELLO:
            self.realm, self.hello = msg[1], msg[2]
            methods = self.hello.get("authmethods", ["anonymous"])
            if "ticket" in methods and self.hello.get("authid"):
                self.send([CHALLENGE, "ticket", {}])
            else:
                self.welcome(self.hello.get("authid", "anonymous"), self.hello.get("authrole", "anonymous"), "anonymous")
        elif kind == AUTHENTICATE:
            authid, ticket = self.hello.get("authid"), msg[1]
            static = r.principals.get(authid)
            if static is not None:
                if static.get("ticket") == ticket:
                    self.welcome(authid, static.get("role", "anonymous"), "ticket")
                else:
                    self.send([ABORT, {}, "wamp.error.not_authorized"])
            elif r.authenticator and (self.realm, r.authenticator) in r.registrations:
                reg_id, callee = r.registrations[(self.realm, r.authenticator)]
                inv = next(ids)

                def done(ok, result):
                    if not ok:
                        self.send([ABORT, {}, "wamp.error.not_authorized"])
                        return
                    role = result.get("role", "anonymous") if isinstance(result, dict) else str(result)
                    self.welcome(authid, role, "ticket")
                r.pending[inv] = done
                callee.send([INVOCATION, inv, reg_id, {}, [self.realm, authid, {"ticket": ticket}]])
            else:
                self.welcome(authid, "anonymous", "ticket")
        elif kind == GOODBYE:
            self.send([GOODBYE, {}, "wamp.close.goodbye_and_out"])
            self.sendClose()
        elif kind == SUBSCRIBE:
            key = (self.realm, msg[3])
            sub = r.subscriptions.setdefault(key, {"id": next(ids), "sessions": set()})
            sub["sessions"].add(self)
            self.send([SUBSCRIBED, msg[1], sub["id"]])
        elif kind == UNSUBSCRIBE:
            for sub in r.subscriptions.values():
                if sub["id"] == msg[2]:
                    sub["sessions"].discard(self)
            self.send([UNSUBSCRIBED, msg[1]])
        elif kind == PUBLISH:
            pub = next(ids)
            sub = r.subscriptions.get((self.realm, msg[3]))
            rest = msg[4:6]
            if sub:
                exclude_me = msg[2].get("exclude_me", True)
                for s in list(sub["sessions"]):
                    if s is not self or not exclude_me:
                        s.send([EVENT, sub["id"], pub, {}] + rest)
            if msg[2].get("acknowledge"):
                self.send([PUBLISHED, msg[1], pub])
        elif kind == REGISTER:
            key = (self.realm, msg[3])
            if key in r.registrations:
                self.send([ERROR, REGISTER, msg[1], {}, "wamp.error.procedure_already_exists"])
                return
            reg = next(ids)
            r.registrations[key] = (reg, self)
            self.send([REGISTERED, msg[1], reg])
        elif kind == UNREGISTER:
            for key in [k for k, v in r.registrations.items() if v[0] == msg[2]]:
                del r.registrations[key]
            self.send([UNREGISTERED, msg[1]])
        elif kind == CALL:
            reg = r.registrations.get((self.realm, msg[3]))
            if reg is None:
                self.send([ERROR, CALL, msg[1], {}, "wamp.error.no_such_procedure"])
                return
            inv = next(ids)
            r.pending[inv] = (self, msg[1])
            reg[1].send([INVOCATION, inv, reg[0], {"caller": self.id}] + msg[4:6])
        elif kind == YIELD or (kind == ERROR and msg[1] == INVOCATION):
            inv = msg[1] if kind == YIELD else msg[2]
            waiter = r.pending.pop(inv, None)
            if callable(waiter):
                args = msg[3] if kind == YIELD and len(msg) > 3 else []
                waiter(kind == YIELD, args[0] if args else {})
            elif waiter:
                caller, req = waiter
                if kind == YIELD:
                    caller.send([RESULT, req, {}] + msg[3:5])
                else:
                    caller.send([ERROR, CALL, req, {}] + msg[4:])


def start_components(router, cbdir):
    for classname, realm, paths in router.components:
        code = ("import importlib, sys\n"
                "from autobahn.twisted.wamp import ApplicationRunner\n"
                "sys.path[:0] = %r\n"
                "mod, cls = %r.rsplit('.', 1)\n"
                "ApplicationRunner('ws://127.0.0.1:%d/ws', %r).run(getattr(importlib.import_module(mod), cls))\n"
                ) % ([os.path.join(cbdir, p) for p in paths], classname, router.port, realm)
        print("crossbar stand-in: starting component %s in realm %s" % (classname, realm), flush=True)
        subprocess.Popen([sys.executable, "-c", code], cwd=cbdir)


def main():
    argv = sys.argv[1:]
    if argv and argv[0] == "start":
        argv = argv[1:]
    cbdir, config = load_config(argv)
    Session.router = Router(config)
    factory = WebSocketServerFactory("ws://0.0.0.0:%d" % Session.router.port)
    factory.protocol = Session
    factory.setProtocolOptions(autoPingInterval=10, autoPingTimeout=5)
    reactor.listenTCP(Session.router.port, factory)
    print("crossbar stand-in: WAMP router on port %d (routes only, no permissions)" % Session.router.port, flush=True)
    reactor.callLater(1, start_components, Session.router, cbdir)
    reactor.run()


if __name__ == "__main__":
    main()
