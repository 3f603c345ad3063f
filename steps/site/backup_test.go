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

// TestS3RepositoriesAreValidatedAndKeysAreReferences: an S3 repository
// names its keys by reference; every value is checked against its own
// pattern, and a hostile value is refused as data, never repeated whole.
func TestS3RepositoriesAreValidatedAndKeysAreReferences(t *testing.T) {
	base := `version: 1
topology: lab
domain: kopnik.test
admin_email: a@kopnik.test
components:
  garage: {}
backup:
  repositories:
`
	good := base + `    - {kind: s3, endpoint: "https://s3.eu-central-1.example.net", bucket: kopnik-backup, path: sites/kopnik, region: eu-central-1, access_key_ref: s3-key-id, secret_key_ref: "env:S3_SECRET"}
    - {kind: garage}
`
	s, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	s.ApplyDefaults()
	if err := s.Validate(nil); err != nil {
		t.Fatalf("valid S3 repositories refused: %v", err)
	}
	r := s.Backup.Repositories
	if r[0].Name != "s3" || r[1].Name != "garage" || r[1].Bucket != DefaultGarageBucket || r[0].Path != "sites/kopnik" || !r[0].S3() || !r[1].S3() {
		t.Errorf("defaults: %+v", r)
	}

	for bad, field := range map[string]string{
		`{kind: ftp}`: "backup.repositories[0].kind",
		`{kind: s3, bucket: b1b, access_key_ref: a, secret_key_ref: b}`:                                                       "backup.repositories[0].endpoint",
		`{kind: s3, endpoint: "https://h/x", bucket: b1b, access_key_ref: a, secret_key_ref: b}`:                              "backup.repositories[0].endpoint",
		`{kind: s3, endpoint: "https://u:p@h", bucket: b1b, access_key_ref: a, secret_key_ref: b}`:                            "backup.repositories[0].endpoint",
		`{kind: s3, endpoint: "ftp://h", bucket: b1b, access_key_ref: a, secret_key_ref: b}`:                                  "backup.repositories[0].endpoint",
		`{kind: s3, endpoint: "https://h;rm -rf /", bucket: b1b, access_key_ref: a, secret_key_ref: b}`:                       "backup.repositories[0].endpoint",
		`{kind: s3, endpoint: "https://h", bucket: "b'$(id)", access_key_ref: a, secret_key_ref: b}`:                          "backup.repositories[0].bucket",
		`{kind: s3, endpoint: "https://h", bucket: Upper, access_key_ref: a, secret_key_ref: b}`:                              "backup.repositories[0].bucket",
		`{kind: s3, endpoint: "https://h", bucket: b1b, path: "../x", access_key_ref: a, secret_key_ref: b}`:                  "backup.repositories[0].path",
		`{kind: s3, endpoint: "https://h", bucket: b1b, path: "a b", access_key_ref: a, secret_key_ref: b}`:                   "backup.repositories[0].path",
		`{kind: s3, endpoint: "https://h", bucket: b1b, region: "eu central", access_key_ref: a, secret_key_ref: b}`:          "backup.repositories[0].region",
		`{kind: s3, endpoint: "https://h", bucket: b1b, secret_key_ref: b}`:                                                   "backup.repositories[0].access_key_ref",
		`{kind: s3, endpoint: "https://h", bucket: b1b, access_key_ref: a, secret_key_ref: "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"}`: "backup.repositories[0].secret_key_ref",
		`{kind: s3, host: lab-1, endpoint: "https://h", bucket: b1b, access_key_ref: a, secret_key_ref: b}`:                   "backup.repositories[0]",
		`{kind: garage, access_key_ref: a}`:   "backup.repositories[0].access_key_ref",
		`{url: "s3:s3.amazonaws.com/bucket"}`: "backup.repositories[0].url",
	} {
		s, err := Parse([]byte(base + "    - " + bad + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", bad, err)
		}
		s.ApplyDefaults()
		err = s.Validate(nil)
		es, _ := err.(Errors)
		fe, ok := es.Field(field)
		if !ok {
			t.Errorf("%s: want an error on %s, got %v", bad, field, err)
			continue
		}
		if strings.Contains(err.Error(), "wJalrXUtnFEMI") {
			t.Errorf("%s: the error repeats what may be a key: %v", bad, fe)
		}
	}

	noGarage := strings.Replace(base, "components:\n  garage: {}\n", "", 1) + "    - {kind: garage}\n"
	s, _ = Parse([]byte(noGarage))
	s.ApplyDefaults()
	es, _ := s.Validate(nil).(Errors)
	if _, ok := es.Field("backup.repositories[0].kind"); !ok {
		t.Errorf("a garage repository on a site without Garage is accepted")
	}
}
