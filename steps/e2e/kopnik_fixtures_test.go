package e2e

// Small repositories shaped like the real kp-server and kp-client
// (github.com/alexey-baranov, read at the commits steps/kopnik pins): the
// server reads cfg/private.json through cfg/index.js by NODE_ENV, starts
// with babel-node from devDependencies, has a file server on
// config["file-server"].port, logs in to Crossbar with the ticket of
// config.server and initialises its schema through src/model and
// src/init.js's initStored(); the client requires its gitignored
// cfg/private.js and keeps Crossbar's config and authenticator in
// .crossbar. What they cannot show: the real code's npm dependencies
// (babel 6, bcrypt, sequelize) on the real Node; the lab test of
// docs/kopnik.md runs those.

// fakeServerFiles is the kp-server fixture.
var fakeServerFiles = map[string]string{
	"package.json": `{
  "name": "kp-sequelizejs",
  "version": "0.0.1",
  "scripts": {
    "server": "./node_modules/babel-cli/bin/babel-node.js --use-strict --inspect=48645 ./src/index.js",
    "start": "npm run server",
    "file-server": "./node_modules/babel-cli/bin/babel-node.js --use-strict ./src/file-server.index.js",
    "init": "babel-node --use-strict ./src/init.js"
  },
  "devDependencies": {"babel-cli": "file:./vendor/babel-cli"}
}
`,
	// babel-node's stand-in: a devDependency, so an install that skips
	// devDependencies (NODE_ENV=production) leaves the server unable to start.
	"vendor/babel-cli/package.json": `{"name": "babel-cli", "version": "6.26.0", "bin": {"babel-node": "./bin/babel-node.js"}}
`,
	"vendor/babel-cli/bin/babel-node.js": `#!/usr/bin/env node
const path = require("path")
const script = process.argv.slice(2).find(a => !a.startsWith("-"))
process.argv = [process.argv[0], path.resolve(script)]
require(path.resolve(script))
`,
	".babelrc": `{"plugins": ["transform-async-to-generator"]}
`,
	".gitignore": "/node_modules/\n/upload/\n/log/\n",
	".npmrc":     "audit=false\nfund=false\n",
	"cfg/index.js": `if (!process.env.NODE_ENV) {
  throw new Error("NODE_ENV is not defined")
}
function merge(a, b) {
  for (const k of Object.keys(b)) {
    a[k] = (a[k] && typeof a[k] === "object" && typeof b[k] === "object") ? merge(a[k], b[k]) : b[k]
  }
  return a
}
module.exports = merge(merge({}, require("./main.json")), require("./private"))[process.env.NODE_ENV]
`,
	"cfg/main.json": `{"development": {"username": "postgres", "password": "dev", "database": "kopa", "host": "127.0.0.1",
  "WAMP": {"schema": "ws", "host": "127.0.0.1", "port": "8080", "path": "ws"},
  "file-server": {"port": "8484", "upload-path": "upload", "download-path": "download"},
  "server": {"username": "server", "password": "dev"}, "SMTP": {"host": "localhost", "from": "noreply@kopnik.org"}}}
`,
	"cfg/private.json": `{"production": {}}
`,
	"src/model/index.js": `// A tiny stand-in of the sequelize models: sync() makes the tables.
const { Client } = require("pg")
const config = require("../../cfg")
async function query(sql, args) {
  const c = new Client({host: config.host, port: config.port, user: config.username, password: config.password, database: config.database})
  await c.connect()
  try { return (await c.query(sql, args)).rows } finally { await c.end() }
}
module.exports = {sequelize: {query, sync: () => query(
  'CREATE TABLE IF NOT EXISTS "Zemla" (id bigserial PRIMARY KEY, name text);' +
  'CREATE TABLE IF NOT EXISTS "Kopnik" (id bigserial PRIMARY KEY, email text, password text, rolee text);' +
  'CREATE TABLE IF NOT EXISTS "Registration" (id bigserial PRIMARY KEY, email text, state int)')}}
`,
	"src/init.js": `let models = require("./model")

async function initSchema() {
  await models.sequelize.query('DROP TABLE IF EXISTS "Kopnik"')
}

async function initStored() {
  await models.sequelize.query(` + "`" + `
        CREATE OR REPLACE FUNCTION get_zemli(IN zemla_id bigint) RETURNS SETOF "Zemla" AS
        $BODY$ select * from "Zemla" where id = zemla_id $BODY$ LANGUAGE sql;
` + "`" + `)
}

initSchema().then(initStored)
`,
	"src/index.js": `// The server: logs in to Crossbar with config.server's ticket in realm
// kopa and registers ru.kopa.fixture.ping, which answers with what it
// sees of the database and the mail relay.
const config = require("../cfg")
const net = require("net")
const crypto = require("crypto")
const models = require("./model")
console.log("starting...", config.WAMP.host)

function smtp() {
  return new Promise((resolve) => {
    const s = net.connect(25, config.SMTP.host)
    const steps = ["EHLO kp-server\r\n", "MAIL FROM:<" + config.SMTP.from + ">\r\n"]
    let buf = "", answer = ""
    s.on("data", (d) => {
      buf += d
      if (!/(^|\n)\d{3} [^\n]*\n$/.test(buf)) return
      answer = buf.trim().split("\n").pop()
      buf = ""
      const next = steps.shift()
      if (next) s.write(next); else { s.end("QUIT\r\n"); resolve(answer) }
    })
    s.on("error", (e) => resolve("error " + e.message))
  })
}

function wamp(onMessage) {
  const sock = net.connect(Number(config.WAMP.port), config.WAMP.host)
  let buf = Buffer.alloc(0), open = false
  const send = (msg) => {
    const data = Buffer.from(JSON.stringify(msg)), mask = crypto.randomBytes(4)
    let head
    if (data.length < 126) head = Buffer.from([0x81, 0x80 | data.length])
    else { head = Buffer.from([0x81, 0x80 | 126, 0, 0]); head.writeUInt16BE(data.length, 2) }
    for (let i = 0; i < data.length; i++) data[i] ^= mask[i % 4]
    sock.write(Buffer.concat([head, mask, data]))
  }
  sock.on("connect", () => sock.write("GET /" + config.WAMP.path + " HTTP/1.1\r\nHost: " + config.WAMP.host +
    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + crypto.randomBytes(16).toString("base64") +
    "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n"))
  sock.on("data", (d) => {
    buf = Buffer.concat([buf, d])
    if (!open) {
      const end = buf.indexOf("\r\n\r\n")
      if (end < 0) return
      open = true
      buf = buf.slice(end + 4)
      send([1, "kopa", {authmethods: ["ticket"], authid: config.server.username, roles: {callee: {}, caller: {}}}])
    }
    while (buf.length >= 2) {
      let len = buf[1] & 0x7f, off = 2
      if (len === 126) { len = buf.readUInt16BE(2); off = 4 }
      if (buf.length < off + len) return
      const op = buf[0] & 0x0f, payload = buf.slice(off, off + len)
      buf = buf.slice(off + len)
      if (op === 1) onMessage(JSON.parse(payload.toString()), send)
    }
  })
  sock.on("close", () => { console.log("WAMP connection closed; retrying"); setTimeout(() => wamp(onMessage), 2000) })
  sock.on("error", (e) => console.log("WAMP: " + e.message))
}

wamp(async (msg, send) => {
  if (msg[0] === 4) send([5, config.server.password, {}])
  if (msg[0] === 2) { console.log("connection.onopen() as " + msg[2].authrole); send([64, 1, {}, "ru.kopa.fixture.ping"]) }
  if (msg[0] === 3) console.log("WAMP login refused: " + JSON.stringify(msg))
  if (msg[0] === 65) console.log("registered ru.kopa.fixture.ping")
  if (msg[0] === 68) {
    let tables = "", mail = ""
    try { tables = (await models.sequelize.query("SELECT string_agg(tablename, ',' ORDER BY tablename) AS t FROM pg_tables WHERE schemaname = 'public'"))[0].t } catch (e) { tables = "error " + e.message }
    mail = await smtp()
    send([70, msg[1], {}, [{tables, mail, from: config.SMTP.from}]])
  }
})
`,
	"src/file-server.index.js": `// The file server: POST /upload?name=N stores the body, GET
// /download?path=upload/... returns it (the real one takes multipart).
// Written for Node 7.7.2, as kp-server is: no global URL, no recursive
// mkdir (the step made upload/ already).
const fs = require("fs")
const http = require("http")
const parse = require("url").parse
const config = require("../cfg")
const fsCfg = config["file-server"]
try { fs.mkdirSync("upload") } catch (e) { if (e.code !== "EEXIST") throw e }
http.createServer((req, res) => {
  const url = parse(req.url, true)
  if (req.method === "POST" && url.pathname === "/" + fsCfg["upload-path"]) {
    const name = "upload/" + Date.now() + "-" + String(url.query.name || "").replace(/[^A-Za-z0-9.]/g, "_")
    const chunks = []
    req.on("data", (c) => chunks.push(c))
    req.on("end", () => { fs.writeFileSync(name, Buffer.concat(chunks)); res.setHeader("Content-Type", "application/json"); res.end(JSON.stringify({path: name})) })
    return
  }
  if (req.method === "GET" && url.pathname === "/" + fsCfg["download-path"]) {
    const p = String(url.query.path || "")
    if (!p.startsWith("upload/") || p.includes("..")) { res.statusCode = 500; return res.end("serve upload folder only") }
    return fs.createReadStream(p).on("error", () => { res.statusCode = 404; res.end() }).pipe(res)
  }
  res.statusCode = 404
  res.end()
}).listen(Number(fsCfg.port), () => console.log("file server listening on port " + fsCfg.port))
`,
}

// fakeClientFiles is the kp-client fixture.
var fakeClientFiles = map[string]string{
	"package.json": `{"name": "kp-client", "version": "1.0.0", "scripts": {"build": "node build/build.js"}, "engines": {"node": ">= 4.0.0"}}
`,
	".npmrc":     "audit=false\nfund=false\n",
	".gitignore": "/node_modules/\n/cfg/private.js\n/dist/\n/.crossbar/node.pid\n/.crossbar/key.priv\n/.crossbar/key.pub\n",
	"cfg/main.js": `const config = {
  production: {
    WAMP: {schema: "wss", host: "kopnik.org", port: "443", path: "ws"},
    "file-server": {schema: "https", host: "kopnik.org", port: "443", "upload-path": "upload", "download-path": "download"}
  }
}
const merged = Object.assign({}, config.production, require("./private").production)
module.exports = merged
`,
	"build/build.js": `process.env.NODE_ENV = "production"
const fs = require("fs")
const c = require("../cfg/main.js")
const url = c.WAMP.schema + "://" + c.WAMP.host + ":" + c.WAMP.port + "/" + c.WAMP.path
try { fs.mkdirSync("dist") } catch (e) { if (e.code !== "EEXIST") throw e }
fs.writeFileSync("dist/index.html", "<!doctype html><title>kopnik</title><h1>kopnik client built</h1><p id=wamp>" + url + "</p>\n")
console.log("built for " + url)
`,
	".crossbar/config.json": `{"version": 2, "workers": [{"type": "router", "options": {"pythonpath": ["."]},
 "realms": [{"name": "kopa", "roles": [
   {"name": "server", "permissions": [{"uri": "ru", "match": "prefix", "allow": {"call": true, "register": true, "publish": true, "subscribe": true}}]},
   {"name": "anonymous", "permissions": [{"uri": "ru.kopa", "match": "prefix", "allow": {"call": true}}]},
   {"name": "authenticator", "permissions": [{"uri": "org.kopnik.authenticate", "match": "prefix", "allow": {"register": true}}]}]}],
 "transports": [{"type": "web", "endpoint": {"type": "tcp", "port": 8080}, "paths": {"ws": {"type": "websocket", "serializers": ["json"],
   "auth": {"ticket": {"type": "dynamic", "authenticator": "org.kopnik.authenticate"}, "anonymous": {"type": "static", "role": "anonymous"}}}}}],
 "components": [{"type": "class", "classname": "authenticator.AuthenticatorSession", "realm": "kopa", "role": "authenticator"}]}]}
`,
	// The real authenticator's reading of the config and its imports.
	".crossbar/authenticator.py": `import json
import os

import bcrypt
from autobahn.twisted.wamp import ApplicationSession
from autobahn.wamp.exception import ApplicationError
from psycopg2cffi import compat, connect
from twisted.internet.defer import inlineCallbacks

compat.register()

MAIN_FILENAME = '../../kp-sequelizejs/cfg/main.json'
PRIVATE_FILENAME = '../../kp-sequelizejs/cfg/private.json'


class AuthenticatorSession(ApplicationSession):
    @inlineCallbacks
    def onJoin(self, details):
        def authenticate(realm, authid, details):
            conf_name = os.environ.get('NODE_ENV')
            if conf_name is None:
                raise Exception('NODE_ENV not setted')
            config = json.load(open(MAIN_FILENAME)).get(conf_name) or {}
            config.update(json.load(open(PRIVATE_FILENAME)).get(conf_name) or {})
            if authid == config["server"]["username"] and details["ticket"] == config["server"]["password"]:
                print("Authentication successfull")
                return u'server'
            db = connect(host=config['host'], database=config['database'], user=config['username'], password=config['password'])
            cur = db.cursor()
            cur.execute('SELECT k.password, k.rolee FROM public."Kopnik" AS k WHERE k.email = %s', [authid])
            # Python 2, as upstream's: unicode, bytes(text), a text hash.
            for row in cur.fetchall():
                if bcrypt.hashpw(bytes(details["ticket"]), row[0]) == row[0]:
                    db.close()
                    return unicode(row[1])
            raise ApplicationError(u"org.kopnik.incorrect_username_or_password", authid)

        yield self.register(authenticate, u'org.kopnik.authenticate')
        print("WAMP-Ticket dynamic authenticator registered!")
`,
}
