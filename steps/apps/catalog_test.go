package apps

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

const goodApp = `name: %s
title: T
description: D
category: office
upstream: https://example.org
license: {spdx: MIT, open_core: false}
seeds: ["000"]
images: {app: "example/app:1.2.3"}
resources: {ram_mb: 64, cpu: 0.5, disk_gb: 1}
service: app
port: 80
web: true
subdomain: %s
placement: common
sso: [none]
accounts: none
strengths: [s]
weaknesses: [w]
probe: {http: {path: /}}
`

func appFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, yaml := range files {
		fsys[name+"/app.yaml"] = &fstest.MapFile{Data: []byte(yaml)}
		fsys[name+"/stack.yaml.tmpl"] = &fstest.MapFile{Data: []byte("services: {}\n")}
		fsys[name+"/nginx.conf.tmpl"] = &fstest.MapFile{Data: []byte("")}
	}
	return fsys
}

func TestLoadRejectsBadMetadataWithTheFieldNamed(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown key", fmt.Sprintf(goodApp, "a", "a") + "colour: red\n", "field colour not found"},
		{"latest", strings.Replace(fmt.Sprintf(goodApp, "a", "a"), "example/app:1.2.3", "example/app:latest", 1), "floats"},
		{"untagged", strings.Replace(fmt.Sprintf(goodApp, "a", "a"), "example/app:1.2.3", "example/app", 1), "not pinned"},
		{"bad category", strings.Replace(fmt.Sprintf(goodApp, "a", "a"), "category: office", "category: toys", 1), "category"},
		{"missing requirement", fmt.Sprintf(goodApp, "a", "a") + "requires: [ghost]\n", `"ghost" is not in the catalog`},
		{"wrong folder", fmt.Sprintf(goodApp, "b", "a"), "folder"},
		{"bad sso", strings.Replace(fmt.Sprintf(goodApp, "a", "a"), "sso: [none]", "sso: [kerberos]", 1), "kerberos"},
		{"no accounts", strings.Replace(fmt.Sprintf(goodApp, "a", "a"), "accounts: none\n", "", 1), "say how people log in"},
		{"database not required", fmt.Sprintf(goodApp, "a", "a") + "database: {engine: postgres}\n", "must also be in requires"},
		{"big range", fmt.Sprintf(goodApp, "a", "a") + "ports: [{port: 40000, range: 50000, protocol: udp, use: x}]\n", "200 ports"},
	} {
		_, err := Load(appFS(map[string]string{"a": tc.yaml}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "a/app.yaml") && tc.name != "wrong folder" {
			t.Errorf("%s: the error does not name the file: %v", tc.name, err)
		}
	}
}

func TestLoadRejectsSharedSubdomainsAndCycles(t *testing.T) {
	_, err := Load(appFS(map[string]string{"a": fmt.Sprintf(goodApp, "a", "x"), "b": fmt.Sprintf(goodApp, "b", "x")}))
	if err == nil || !strings.Contains(err.Error(), `subdomain "x"`) {
		t.Errorf("shared subdomain: %v", err)
	}
	_, err = Load(appFS(map[string]string{"a": fmt.Sprintf(goodApp, "a", "a") + "requires: [b]\n", "b": fmt.Sprintf(goodApp, "b", "b") + "requires: [a]\n"}))
	if err == nil || !strings.Contains(err.Error(), "circle") {
		t.Errorf("cycle: %v", err)
	}
}

func TestCheckImage(t *testing.T) {
	for img, ok := range map[string]bool{
		"postgres:17.2": true, "quay.io/keycloak/keycloak:26.0.7": true, "localhost:5000/x/y:1.0": true, "martialblog/limesurvey:6-apache": false, "redis:7": false, "x/y:v8": false,
		"codeberg.org/forgejo/forgejo:9.0.3": true, "nginx": false, "nginx:latest": false, "nginx:stable": false,
		"localhost:5000/x": false, "x@sha256:" + strings.Repeat("a", 64): true,
	} {
		if err := CheckImage(img); (err == nil) != ok {
			t.Errorf("%s: %v", img, err)
		}
	}
}
