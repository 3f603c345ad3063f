package site

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Every string of a site file that reaches a shell, a configuration file,
// YAML, UCI or nginx on a host has a kind, and each kind a strict pattern.
// The templates quote what they insert for their target as well; these
// patterns make a value that would need quoting a mistake the user hears
// about before anything runs.

var (
	// siteNameRE: the site's name names its CA, VMs' descriptions and
	// VPN profiles.
	siteNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// pathRE: an absolute path on a host: letters, digits and . _ - + @ /.
	pathRE = regexp.MustCompile(`^/[A-Za-z0-9._+@/-]*$`)
	// ifaceRE: a Linux interface or bridge name (IFNAMSIZ is 16, so 15
	// characters).
	ifaceRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,14}$`)
	// nodeVersionRE: what nvm install takes: lts, lts/<codename>, or a
	// version such as 22, v22.12 or 22.12.0.
	nodeVersionRE = regexp.MustCompile(`^(lts|lts/[a-z]{2,20}|v?[0-9]{1,3}(\.[0-9]{1,4}){0,2})$`)
	// gitRefRE: a branch, tag or commit (git check-ref-format, stricter).
	gitRefRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,199}$`)
	// imageRE: an image reference: [registry[:port]/]path[:tag][@digest].
	imageRE = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	// sizeRE: a size with a unit, as PHP, nginx and Synapse read it.
	sizeRE = regexp.MustCompile(`^[0-9]{1,6}[KMGTkmgt]?$`)
	// emailRE: an address every shell, YAML and mail server reads as is.
	emailRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)
	// storageRE: a Proxmox storage ID.
	storageRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,39}$`)
	// dockerNameRE: a docker network name.
	dockerNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)
	// labelValueRE: a swarm node label's value.
	labelValueRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	// urlRE: an https URL with no character any shell or config treats
	// specially.
	urlRE = regexp.MustCompile(`^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/+=-]*)?$`)
	// repoRE: a git URL (https://, ssh://, git@host:path) or a local path.
	repoRE = regexp.MustCompile(`^((https|ssh|git)://[A-Za-z0-9@.:-]+(/[A-Za-z0-9._~/+-]*)?|[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/+-]+|[/~.][A-Za-z0-9._~/+-]*)$`)
	// commandRE: a plain command line: words of letters, digits and
	// . _ - : / = @ + , separated by spaces.
	fingerprintRE = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)
	commandRE     = regexp.MustCompile(`^[A-Za-z0-9._:/=@+,-]+( [A-Za-z0-9._:/=@+,-]+)*$`)
)

// maxShown is how much of a bad value an error message quotes.
const maxShown = 60

// Show quotes a value for an error message, cut to 60 characters with its
// length when it is longer, so that no message line grows with the input.
func Show(v string) string {
	if utf8.RuneCountInString(v) <= maxShown && utf8.ValidString(v) {
		return fmt.Sprintf("%q", v)
	}
	r := []rune(strings.ToValidUTF8(v, "?"))
	if len(r) > maxShown {
		r = r[:maxShown]
	}
	return fmt.Sprintf("%q… (%d characters)", string(r), len(v))
}

// CheckPath validates an absolute path on a host: no .. segment, no
// characters a shell, sshd_config or fstab would read as syntax.
func CheckPath(p, example string) *FieldError {
	switch {
	case p == "":
		return &FieldError{Problem: "missing", Fix: "give an absolute path such as " + example}
	case !strings.HasPrefix(p, "/"):
		return &FieldError{Problem: Show(p) + " is not an absolute path", Fix: "give an absolute path such as " + example}
	case !pathRE.MatchString(p) || len(p) > 200:
		return &FieldError{Problem: Show(p) + " has characters a path on a host may not have here", Fix: "use letters, digits and . _ - + @ / only, such as " + example}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return &FieldError{Problem: Show(p) + " has a " + seg + " segment", Fix: "write the path without . or .. segments, such as " + example}
		}
	}
	if p == "/" {
		return &FieldError{Problem: "/ cannot be used here", Fix: "give a folder of its own, such as " + example}
	}
	return nil
}

// CheckInterface validates an interface or bridge name.
func CheckInterface(n string) *FieldError {
	if !ifaceRE.MatchString(n) {
		return &FieldError{Problem: Show(n) + " is not an interface name", Fix: "use up to 15 letters, digits, _ . and -, starting with a letter, such as vmbr1"}
	}
	return nil
}

// CheckNodeVersion validates prepare.node.
func CheckNodeVersion(v string) *FieldError {
	if v == "distro" || nodeVersionRE.MatchString(v) {
		return nil
	}
	return &FieldError{Problem: Show(v) + " is not a Node.js version", Fix: "use lts, distro (the distribution's nodejs) or a version such as 22 or 22.12.0"}
}

// CheckGitRef validates a branch, tag or commit.
func CheckGitRef(r string) *FieldError {
	if gitRefRE.MatchString(r) && !strings.Contains(r, "..") && !strings.Contains(r, "//") && !strings.HasSuffix(r, ".lock") && !strings.HasSuffix(r, "/") && !strings.HasSuffix(r, ".") {
		return nil
	}
	return &FieldError{Problem: Show(r) + " is not a git branch, tag or commit", Fix: "give a name such as master, v1.2.0 or a commit hash (letters, digits, . _ - / +, not starting with -)"}
}

// CheckImage validates an image reference.
func CheckImage(ref string) *FieldError {
	if len(ref) <= 255 && imageRE.MatchString(ref) {
		return nil
	}
	return &FieldError{Problem: Show(ref) + " is not an image reference", Fix: "write it as name:tag, such as node:22.12.0 or registry.example.org:5000/team/node:22"}
}

// CheckSize validates a size such as 512M or 10G.
func CheckSize(v string) *FieldError {
	if sizeRE.MatchString(v) {
		return nil
	}
	return &FieldError{Problem: Show(v) + " is not a size", Fix: "write a number with an optional unit K, M, G or T, such as 512M or 10G"}
}

// CheckIPv4 validates an IPv4 address ("" allowed by the caller).
func CheckIPv4(v string) *FieldError {
	if a, err := netip.ParseAddr(v); err == nil && a.Is4() {
		return nil
	}
	return &FieldError{Problem: Show(v) + " is not an IPv4 address", Fix: "write it as 203.0.113.10"}
}

// CheckHostPort validates host:port or [host]:port (a mail relay, a
// registry mirror).
func CheckHostPort(v string) *FieldError {
	bad := &FieldError{Problem: Show(v) + " is not host:port", Fix: "write it as smtp.example.org:587 or [smtp.example.org]:587"}
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return bad
	}
	h, port := v[:i], v[i+1:]
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if n, ok := atoi(port); !ok || n < 1 || n > 65535 {
		return bad
	}
	if CheckAddress(h) != nil {
		return bad
	}
	return nil
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// CheckText validates free text that lands in a configuration (a site
// title, an organisation): printable letters of any script, digits,
// spaces and . , ! ? - _ : ( ) / @ + #, up to 200 characters.
func CheckText(v string) *FieldError {
	fix := "use letters, digits, spaces and . , ! ? - _ : ( ) / @ + # only (no quotes, ; { } $ ` \\ < > & |), up to 200 characters"
	if utf8.RuneCountInString(v) > 200 {
		return &FieldError{Problem: Show(v) + " is too long", Fix: fix}
	}
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r > 127 && r != 0x2028 && r != 0x2029 && r != 0x85 && r != 0xfeff && r != utf8.RuneError:
		case strings.ContainsRune(" .,!?-_:()/@+#", r):
		default:
			return &FieldError{Problem: fmt.Sprintf("%s has the character %q", Show(v), r), Fix: fix}
		}
	}
	return nil
}

// CheckRepo validates a git repository: an https/ssh URL, user@host:path
// or a local path.
func CheckRepo(v string) *FieldError {
	if len(v) <= 300 && repoRE.MatchString(v) && !strings.HasPrefix(v, "-") {
		return nil
	}
	return &FieldError{Problem: Show(v) + " is not a git repository URL or path", Fix: "give an https:// URL such as https://github.com/alexey-baranov/kp-server.git, git@host:path, or the path of a local repository"}
}

// CheckCommand validates a plain command line (words, no shell syntax).
func CheckCommand(v string) *FieldError {
	if len(v) <= 200 && commandRE.MatchString(v) {
		return nil
	}
	return &FieldError{Problem: Show(v) + " is not a plain command", Fix: "give words of letters, digits and . _ - : / = @ + , separated by single spaces, such as `npm start`"}
}

// hasControl reports whether s holds a newline or another control
// character (a tab is allowed).
func hasControl(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return true
		}
	}
	return false
}

// CheckFingerprint validates a host key fingerprint.
func CheckFingerprint(v string) *FieldError {
	if fingerprintRE.MatchString(v) {
		return nil
	}
	return &FieldError{Problem: Show(v) + " is not a SHA256 key fingerprint", Fix: "copy it from `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host: SHA256: and 43 characters"}
}
