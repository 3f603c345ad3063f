// kp-server's schema without its test data, written by collabstack.
// Upstream's src/init.js drops every table and then inserts unit-test users
// with known passwords, so it is not run on a live site; this creates the
// tables from the models (sequelize.sync without force), the column
// init.js adds after the sync (a cycle Sequelize cannot create), and the
// stored functions from init.js's own initStored(), read from the source
// at run time so they stay kp-server's.
"use strict"
const fs = require("fs")
const path = require("path")
const models = require("../src/model")

async function main() {
  await models.sequelize.sync()
  await models.sequelize.query(
    'ALTER TABLE "Zemla" ADD COLUMN IF NOT EXISTS verifier_id bigint; ' +
    'CREATE INDEX IF NOT EXISTS zemla_verifier_id ON "Zemla" (verifier_id ASC NULLS LAST);')
  const src = fs.readFileSync(path.join(__dirname, "..", "src", "init.js"), "utf8")
  const m = src.match(/async function initStored\(\) \{[\s\S]*?\n\}\n/)
  if (!m) {
    throw new Error("src/init.js has no initStored(): set components.kopnik.options.init_command for this version")
  }
  // eslint-disable-next-line no-eval
  const initStored = eval("(" + m[0] + ")")
  await initStored()
}

main().then(() => {
  console.log("kp-server schema ready")
  process.exit(0)
}, (err) => {
  console.error(err && err.stack || err)
  process.exit(1)
})
