package site

import (
	"fmt"
	"regexp"
	"strings"
)

// Backup says where the site's backups go and when. Every backup holds
// the databases (dumped inside their services), every named volume, the
// hosts' data folders, the site file and the secrets file, encrypted with
// a key generated into the secrets file.
type Backup struct {
	// Repositories each get every backup: a folder on a site host
	// (reached over SFTP from the others), or an SFTP URL of a host
	// outside the site.
	Repositories []BackupRepository `yaml:"repositories,omitempty"`
	// Schedule is when the hosts back up, as a systemd OnCalendar
	// expression. Default: every day at 03:15.
	Schedule string `yaml:"schedule,omitempty"`
	// Keep is how many backups are kept (restic forget).
	Keep BackupKeep `yaml:"keep,omitempty"`
}

// BackupRepository is one restic repository.
type BackupRepository struct {
	// Name tells repositories apart in output; default: the host or the
	// URL's host.
	Name string `yaml:"name,omitempty"`
	// Host is a site host that holds the repository in Path.
	Host string `yaml:"host,omitempty"`
	// Path is the repository's folder on Host (default
	// /var/backups/collabstack), or with neither Host nor URL a folder on
	// each backed-up host itself (a mounted disk).
	Path string `yaml:"path,omitempty"`
	// URL is an SFTP repository outside the site:
	// sftp:user@host:/path or sftp://user@host:port//path.
	URL string `yaml:"url,omitempty"`
	// Kind is "s3" for a bucket of an S3 server (Endpoint, Bucket, the
	// keys by reference) or "garage" for a bucket in the site's own
	// Garage, which collabstack creates with its key. Empty: a folder
	// (Host, Path) or an SFTP URL, as above.
	Kind string `yaml:"kind,omitempty"`
	// Endpoint is the S3 server's URL, https://host[:port] (http:// only
	// on a private network: the access key ID and the encrypted data
	// travel in clear). Garage: its URL on the site, by default.
	Endpoint string `yaml:"endpoint,omitempty"`
	// Bucket is the S3 bucket (default for garage: collabstack-backup).
	// With kind s3 or garage, Path is an optional folder in it.
	Bucket string `yaml:"bucket,omitempty"`
	// Region is the S3 region (AWS_DEFAULT_REGION), when the server
	// wants one.
	Region string `yaml:"region,omitempty"`
	// AccessKeyRef and SecretKeyRef name the secrets (in the secrets
	// file, `collabstack secret set NAME`, or env:VARIABLE) holding the
	// S3 access key ID and secret key: never the keys themselves.
	// Garage: collabstack makes the key and stores it itself.
	AccessKeyRef string `yaml:"access_key_ref,omitempty"`
	SecretKeyRef string `yaml:"secret_key_ref,omitempty"`
}

// Repository kinds besides a folder and SFTP.
const (
	RepoS3     = "s3"
	RepoGarage = "garage"
	// DefaultGarageBucket is the bucket collabstack makes in the site's
	// Garage.
	DefaultGarageBucket = "collabstack-backup"
)

// S3 reports whether r is a bucket of an S3 server (its own or Garage).
func (r BackupRepository) S3() bool { return r.Kind == RepoS3 || r.Kind == RepoGarage }

// GarageKeySecrets are the secrets-file names of the key collabstack
// makes in the site's Garage for repository name.
func GarageKeySecrets(name string) (id, secret string) {
	return "backup-garage-" + name + "-key-id", "backup-garage-" + name + "-secret-key"
}

// BackupKeep is the retention policy.
type BackupKeep struct {
	Daily   int `yaml:"daily,omitempty"`
	Weekly  int `yaml:"weekly,omitempty"`
	Monthly int `yaml:"monthly,omitempty"`
}

// Backup defaults.
const (
	DefaultBackupSchedule = "*-*-* 03:15:00"
	DefaultBackupPath     = "/var/backups/collabstack"
	DefaultKeepDaily      = 7
	DefaultKeepWeekly     = 4
	DefaultKeepMonthly    = 6
)

var (
	sftpURLRE     = regexp.MustCompile(`^sftp:(//)?([a-z_][a-z0-9_-]{0,31})@([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:[0-9]{1,5})?:?(/[A-Za-z0-9._/-]*)$`)
	backupPathRE  = regexp.MustCompile(`^/[A-Za-z0-9._/-]*$`)
	calendarRE    = regexp.MustCompile(`^[A-Za-z0-9 *:/.,~-]+$`)
	repoNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)
	sftpURLSchema = "sftp:user@host:/path or sftp://user@host:2222//path"
	// s3EndpointRE: scheme, host name or address, port; nothing else (no
	// user, path, query: the bucket and folder are fields of their own).
	s3EndpointRE = regexp.MustCompile(`^https?://([A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9a-fA-F:]+\])(:[0-9]{1,5})?/?$`)
	// bucketRE: S3's bucket naming rules (lower case, digits, . and -,
	// 3 to 63 characters, a letter or digit at both ends).
	bucketRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	s3PrefixRE = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
	regionRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// S3Endpoint is an S3 repository's endpoint without a trailing slash.
func S3Endpoint(e string) string { return strings.TrimSuffix(e, "/") }

// SFTPURL is a parsed SFTP repository URL.
type SFTPURL struct {
	User, Host, Path string
	Port             int
}

// ParseSFTPURL reads sftp:user@host:/path or sftp://user@host:port//path.
func ParseSFTPURL(u string) (SFTPURL, error) {
	m := sftpURLRE.FindStringSubmatch(u)
	if m == nil {
		return SFTPURL{}, fmt.Errorf("%q is not an SFTP repository URL", u)
	}
	out := SFTPURL{User: m[2], Host: strings.Trim(m[3], "[]"), Path: m[5], Port: 22}
	if m[4] != "" {
		fmt.Sscanf(m[4][1:], "%d", &out.Port)
		if out.Port < 1 || out.Port > 65535 {
			return SFTPURL{}, fmt.Errorf("%q has port %d, out of range", u, out.Port)
		}
	}
	if m[1] == "//" && strings.HasPrefix(out.Path, "//") {
		out.Path = out.Path[1:]
	}
	if strings.Contains(out.Path, "..") || out.Path == "/" {
		return SFTPURL{}, fmt.Errorf("%q: give a folder of its own, without ..", u)
	}
	return out, nil
}

// BackupDefaults fills the backup section's defaults (a site without
// one has no backups).
func (s *Site) BackupDefaults() {
	b := s.Backup
	if b == nil {
		return
	}
	if b.Schedule == "" {
		b.Schedule = DefaultBackupSchedule
	}
	if b.Keep == (BackupKeep{}) {
		b.Keep = BackupKeep{Daily: DefaultKeepDaily, Weekly: DefaultKeepWeekly, Monthly: DefaultKeepMonthly}
	}
	for i := range b.Repositories {
		r := &b.Repositories[i]
		if r.Kind == RepoGarage && r.Bucket == "" {
			r.Bucket = DefaultGarageBucket
		}
		if r.URL == "" && r.Path == "" && !r.S3() {
			r.Path = DefaultBackupPath
		}
		if r.Name == "" {
			switch {
			case r.S3():
				r.Name = r.Kind
			case r.Host != "":
				r.Name = r.Host
			case r.URL != "":
				if u, err := ParseSFTPURL(r.URL); err == nil {
					r.Name = strings.ToLower(strings.NewReplacer(".", "-", ":", "-").Replace(u.Host))
				}
			default:
				r.Name = "local"
			}
			if len(r.Name) > 31 {
				r.Name = r.Name[:31]
			}
		}
	}
}

// validateBackup checks the backup section; hosts must be site hosts
// (in the lab, its nodes lab-1, lab-2, ...).
func (s *Site) validateBackup(es *Errors) {
	b := s.Backup
	if b == nil {
		return
	}
	s.BackupDefaults()
	if len(b.Repositories) == 0 {
		es.add("backup.repositories", "add one, such as {host: standby, path: /var/backups/collabstack} or {url: sftp:backup@203.0.113.20:/srv/backup}", "no repository: backups would go nowhere")
	}
	if !calendarRE.MatchString(b.Schedule) {
		es.add("backup.schedule", "write a systemd calendar expression such as daily or \"*-*-* 03:15:00\"", "%q is not a calendar expression", b.Schedule)
	}
	if b.Keep.Daily < 0 || b.Keep.Weekly < 0 || b.Keep.Monthly < 0 || b.Keep.Daily+b.Keep.Weekly+b.Keep.Monthly == 0 {
		es.add("backup.keep", "keep at least one backup, such as {daily: 7, weekly: 4, monthly: 6}", "keeps no backup")
	}
	known := map[string]bool{}
	for _, h := range s.Hosts {
		known[h.Name] = true
	}
	if s.Topology == TopologyLab && len(s.Hosts) == 0 && s.Lab != nil {
		for i := 1; i <= s.Lab.Nodes; i++ {
			known[fmt.Sprintf("lab-%d", i)] = true
		}
	}
	seen := map[string]bool{}
	for i, r := range b.Repositories {
		f := fmt.Sprintf("backup.repositories[%d]", i)
		if r.Kind != "" {
			s.validateS3Repository(es, f, r)
		}
		switch {
		case r.Kind != "":
		case r.Host != "" && r.URL != "":
			es.add(f, "give host and path for a site host, or url for a host outside the site", "has both host and url")
		case r.URL != "":
			if strings.HasPrefix(r.URL, "s3:") {
				es.add(f+".url", "write an S3 repository as {kind: s3, endpoint: https://host, bucket: NAME, access_key_ref: SECRET, secret_key_ref: SECRET}", "url is for SFTP repositories")
			} else if _, err := ParseSFTPURL(r.URL); err != nil {
				es.add(f+".url", "write it as "+sftpURLSchema, "%v", err)
			}
			if r.Path != "" {
				es.add(f+".path", "put the folder in the url", "path goes with host; the url already says the folder")
			}
		case r.Host != "" && !known[r.Host]:
			es.add(f+".host", "name one of the site's hosts, or give a url for a host outside the site", "%q is not a host of this site", r.Host)
		}
		if r.URL == "" && !r.S3() && (!backupPathRE.MatchString(r.Path) || strings.Contains(r.Path, "..") || r.Path == "/") {
			es.add(f+".path", "give an absolute folder such as /var/backups/collabstack", "%q is not a usable folder", r.Path)
		}
		if !repoNameRE.MatchString(r.Name) {
			es.add(f+".name", "use lower-case letters, digits and -", "%q is not a valid name", r.Name)
		} else if seen[r.Name] {
			es.add(f+".name", "give each repository its own name", "%q is used twice", r.Name)
		}
		seen[r.Name] = true
	}
}

// validateS3Repository checks a repository of kind s3 or garage: every
// value against its own pattern (they reach restic's repository string
// and an environment file), the keys only as references.
func (s *Site) validateS3Repository(es *Errors, f string, r BackupRepository) {
	if r.Kind != RepoS3 && r.Kind != RepoGarage {
		es.add(f+".kind", "use s3 (an S3 server) or garage (the site's own Garage), or leave it out for a folder or an SFTP URL", "%s is not a repository kind", Show(r.Kind))
		return
	}
	if r.Host != "" || r.URL != "" {
		es.add(f, "give endpoint and bucket for kind "+r.Kind+"; host and url are for folders and SFTP", "has kind %s and host or url", r.Kind)
	}
	switch {
	case r.Endpoint == "" && r.Kind == RepoS3:
		es.add(f+".endpoint", "give the S3 server's URL, such as https://s3.eu-central-1.amazonaws.com", "no endpoint")
	case r.Endpoint != "" && !s3EndpointRE.MatchString(r.Endpoint):
		es.add(f+".endpoint", "write it as https://host or https://host:port, without a path (the bucket and path are fields of their own)", "%s is not an S3 endpoint URL", Show(r.Endpoint))
	}
	if !bucketRE.MatchString(r.Bucket) || strings.Contains(r.Bucket, "..") {
		es.add(f+".bucket", "give a bucket name of 3 to 63 lower-case letters, digits, . and -", "%s is not a bucket name", Show(r.Bucket))
	}
	if r.Path != "" && (!s3PrefixRE.MatchString(strings.Trim(r.Path, "/")) || strings.Contains(r.Path, "..")) {
		es.add(f+".path", "give a folder in the bucket such as kopnik or sites/kopnik", "%s is not a folder in a bucket", Show(r.Path))
	}
	if r.Region != "" && !regionRE.MatchString(r.Region) {
		es.add(f+".region", "give the region's name, such as eu-central-1", "%s is not a region name", Show(r.Region))
	}
	for _, k := range []struct{ field, val string }{{"access_key_ref", r.AccessKeyRef}, {"secret_key_ref", r.SecretKeyRef}} {
		switch {
		case r.Kind == RepoGarage && k.val != "":
			es.add(f+"."+k.field, "leave it out: collabstack makes the Garage key and keeps it in the secrets file", "a garage repository gets its key from collabstack")
		case r.Kind == RepoS3 && k.val == "":
			es.add(f+"."+k.field, "name a secret holding it (set it with `collabstack secret set NAME`) or env:VARIABLE", "missing")
		case r.Kind == RepoS3 && !refRE.MatchString(k.val):
			es.add(f+"."+k.field, "name a secret (set it with `collabstack secret set NAME`) or env:VARIABLE; never write the key here", "the value is not a secret reference (%d characters; not repeated here, in case it is a key)", len(k.val))
		}
	}
	if r.Kind == RepoGarage {
		if _, ok := s.Components["garage"]; !ok {
			es.add(f+".kind", "add garage to components, or use kind s3 with another S3 server", "the site has no Garage")
		}
	}
}
