package cli

import "github.com/collabstack/collabstack/steps/install"

// sshDialer connects to hosts over SSH, pinning host keys.
var sshDialer install.DialerFactory
