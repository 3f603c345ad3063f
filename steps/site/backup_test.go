package site

import (
	"strings"
	"testing"
)

func TestBackupSectionDefaultsAndErrors(t *testing.T) {
	good := `version: 1
topology: lab
domain: kopnik.test
admin_email: a@kopnik.test
backup:
  repositories:
    - {host: lab-2}
    - {url: "sftp://backup@[fd00::7]:2222//srv/kopnik"}
`
	s, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	s.ApplyDefaults()
	if err := s.Validate(nil); err != nil {
		t.Fatalf("valid backup section refused: %v", err)
	}
	b := s.Backup
	if b.Schedule != DefaultBackupSchedule || b.Keep.Daily != DefaultKeepDaily || b.Repositories[0].Path != DefaultBackupPath || b.Repositories[0].Name != "lab-2" || b.Repositories[1].Name != "fd00--7" {
		t.Errorf("defaults: %+v", b)
	}
	u, err := ParseSFTPURL(b.Repositories[1].URL)
	if err != nil || u.Port != 2222 || u.Path != "/srv/kopnik" || u.User != "backup" || u.Host != "fd00::7" {
		t.Errorf("url: %+v %v", u, err)
	}

	for bad, field := range map[string]string{
		`{host: lab-9}`:                       "backup.repositories[0].host",
		`{url: "s3:s3.amazonaws.com/bucket"}`: "backup.repositories[0].url",
		`{url: "sftp:u@h:/x;rm -rf /"}`:       "backup.repositories[0].url",
		`{host: lab-1, path: "/x y"}`:         "backup.repositories[0].path",
		`{host: lab-1, path: "/a/../etc"}`:    "backup.repositories[0].path",
		`{host: lab-1, url: "sftp:u@h:/x"}`:   "backup.repositories[0]",
	} {
		doc := strings.Replace(good, "    - {host: lab-2}\n    - {url: \"sftp://backup@[fd00::7]:2222//srv/kopnik\"}\n", "    - "+bad+"\n", 1)
		s, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", bad, err)
		}
		s.ApplyDefaults()
		err = s.Validate(nil)
		es, _ := err.(Errors)
		if _, ok := es.Field(field); !ok {
			t.Errorf("%s: want an error on %s, got %v", bad, field, err)
		}
	}
}
