// Command collabstack stands up a self-hosted collaboration environment on
// your own hardware: answer the wizard (or write a site file), and it
// installs, resumes and extends the install over SSH.
package main

import (
	"os"

	"github.com/collabstack/collabstack/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
