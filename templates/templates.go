// Package templates holds the data collabstack renders: compose stacks,
// nginx vhosts, UCI batches, cloud-init, scripts, and one folder per app
// with its metadata. Adding an app touches no Go code.
package templates

import "embed"

// FS is every template, embedded in the binary. A pattern leaves out
// files whose names start with "_" or ".", so those are named one by one:
// without its __init__.py, Python takes psycopg2cffi for an empty
// namespace package and the Crossbar image's build fails.
//
//go:embed *
//go:embed kopnik/crossbar/psycopg2cffi/__init__.py
var FS embed.FS
