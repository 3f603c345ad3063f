// Package templates holds the data collabstack renders: compose stacks,
// nginx vhosts, UCI batches, cloud-init, scripts, and one folder per app
// with its metadata. Adding an app touches no Go code.
package templates

import "embed"

// FS is every template, embedded in the binary.
//
//go:embed *
var FS embed.FS
