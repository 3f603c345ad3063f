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
)

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
		if r.URL == "" && r.Path == "" {
			r.Path = DefaultBackupPath
		}
		if r.Name == "" {
			switch {
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
		switch {
		case r.Host != "" && r.URL != "":
			es.add(f, "give host and path for a site host, or url for a host outside the site", "has both host and url")
		case r.URL != "":
			if strings.HasPrefix(r.URL, "s3:") {
				es.add(f+".url", "use an SFTP repository for now", "S3 repositories are not supported yet")
			} else if _, err := ParseSFTPURL(r.URL); err != nil {
				es.add(f+".url", "write it as "+sftpURLSchema, "%v", err)
			}
			if r.Path != "" {
				es.add(f+".path", "put the folder in the url", "path goes with host; the url already says the folder")
			}
		case r.Host != "" && !known[r.Host]:
			es.add(f+".host", "name one of the site's hosts, or give a url for a host outside the site", "%q is not a host of this site", r.Host)
		}
		if r.URL == "" && (!backupPathRE.MatchString(r.Path) || strings.Contains(r.Path, "..") || r.Path == "/") {
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
