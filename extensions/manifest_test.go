package extensions_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"extcron/extensions"
	"extcron/fault"
)

// validManifest returns a manifest document that passes validation; tests
// tweak it.
func validManifest() map[string]any {
	return map[string]any{
		"publisher":    "acme",
		"name":         "crm-sync",
		"version":      "1.0.0",
		"display_name": "CRM Sync",
		"description":  "Syncs the CRM.",
		"runtime":      "wasm32-wasip1",
		"module":       "module.wasm",
		"capabilities": []any{"cap:log.emit", "cap:http.fetch"},
		"api": map[string]any{"endpoints": []any{
			map[string]any{"method": "post", "path": "sync/contacts", "handler": "syncContacts"},
			map[string]any{"method": "GET", "path": "/contacts/{id}", "handler": "getContact"},
		}},
		"config_schema": map[string]any{"keys": []any{
			map[string]any{"key": "region", "label": "Region", "default": "eu"},
			map[string]any{"key": "account", "label": "Account", "required": true},
			map[string]any{"key": "api_token", "label": "API token", "secret": true},
		}},
		"x-unknown": map[string]any{"tolerated": true},
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseManifestValid(t *testing.T) {
	t.Parallel()
	m, err := extensions.ParseManifest(mustJSON(t, validManifest()))
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	if got, want := m.Slug(), "acme.crm-sync"; got != want {
		t.Errorf("slug = %q, want %q", got, want)
	}
	if len(m.API.Endpoints) != 2 || m.API.Endpoints[0].Method != "post" {
		t.Errorf("endpoints = %+v, want the two declared entries as written", m.API.Endpoints)
	}
	k, ok := m.Key("api_token")
	if !ok || !k.Secret {
		t.Errorf("api_token key = %+v, %v; want a secret key", k, ok)
	}
	if k, _ := m.Key("account"); !k.Required {
		t.Errorf("account key not required: %+v", k)
	}
}

func TestParseManifestSamples(t *testing.T) {
	t.Parallel()
	paths, _ := filepath.Glob("samples/*/manifest.json")
	more, _ := filepath.Glob("samples/*/*/manifest.json")
	for _, p := range append(paths, more...) {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := extensions.ParseManifest(raw); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestParseManifestFieldErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(m map[string]any)
		field string
	}{
		{"missing publisher", func(m map[string]any) { delete(m, "publisher") }, "publisher"},
		{"upper-case publisher", func(m map[string]any) { m["publisher"] = "Acme" }, "publisher"},
		{"long name", func(m map[string]any) { m["name"] = strings.Repeat("a", 65) }, "name"},
		{"name with dot", func(m map[string]any) { m["name"] = "crm.sync" }, "name"},
		{"version not string", func(m map[string]any) { m["version"] = 1 }, "version"},
		{"version v prefix", func(m map[string]any) { m["version"] = "v1.0.0" }, "version"},
		{"version short", func(m map[string]any) { m["version"] = "1.0" }, "version"},
		{"version leading zero", func(m map[string]any) { m["version"] = "01.0.0" }, "version"},
		{"version bad prerelease", func(m map[string]any) { m["version"] = "1.0.0-" }, "version"},
		{"runtime", func(m map[string]any) { m["runtime"] = "wasm32-wasi" }, "runtime"},
		{"module missing", func(m map[string]any) { delete(m, "module") }, "module"},
		{"module path", func(m map[string]any) { m["module"] = "../module.wasm" }, "module"},
		{"capability format", func(m map[string]any) { m["capabilities"] = []any{"cap:log.emit", "http.fetch"} }, "capabilities[1]"},
		{"capability duplicate", func(m map[string]any) { m["capabilities"] = []any{"cap:a", "cap:a"} }, "capabilities[1]"},
		{"capabilities not list", func(m map[string]any) { m["capabilities"] = "cap:a" }, "capabilities"},
		{"api not object", func(m map[string]any) { m["api"] = []any{} }, "api"},
		{"endpoints not list", func(m map[string]any) { m["api"] = map[string]any{"endpoints": "x"} }, "api.endpoints"},
		{"endpoint method not string", func(m map[string]any) {
			m["api"] = map[string]any{"endpoints": []any{
				map[string]any{"method": "GET", "path": "/a", "handler": "a"},
				map[string]any{"method": "GET", "path": "/b", "handler": "b"},
				map[string]any{"method": 7, "path": "/c", "handler": "c"},
			}}
		}, "api.endpoints[2].method"},
		{"endpoint not object", func(m map[string]any) { m["api"] = map[string]any{"endpoints": []any{"GET /a"}} }, "api.endpoints[0]"},
		{"config key missing", func(m map[string]any) {
			m["config_schema"] = map[string]any{"keys": []any{map[string]any{"label": "x"}}}
		}, "config_schema.keys[0].key"},
		{"config key duplicate", func(m map[string]any) {
			m["config_schema"] = map[string]any{"keys": []any{map[string]any{"key": "a"}, map[string]any{"key": "a"}}}
		}, "config_schema.keys[1].key"},
		{"config secret not bool", func(m map[string]any) {
			m["config_schema"] = map[string]any{"keys": []any{map[string]any{"key": "a", "secret": "yes"}}}
		}, "config_schema.keys[0].secret"},
		{"secret with default", func(m map[string]any) {
			m["config_schema"] = map[string]any{"keys": []any{map[string]any{"key": "a", "secret": true, "default": "x"}}}
		}, "config_schema.keys[0].default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := validManifest()
			tt.edit(doc)
			_, err := extensions.ParseManifest(mustJSON(t, doc))
			fe, ok := fault.As(err)
			if !ok || fe.Code != fault.Invalid {
				t.Fatalf("err = %v, want an invalid fault", err)
			}
			if fe.Fields[tt.field] == "" {
				t.Fatalf("fields = %v, want a message for %q", fe.Fields, tt.field)
			}
		})
	}
}

func TestParseManifestNotObject(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{``, `[]`, `null`, `"x"`, `{`, `{"publisher": "acme",}`} {
		_, err := extensions.ParseManifest([]byte(raw))
		if fe, ok := fault.As(err); !ok || fe.Fields["manifest"] == "" {
			t.Errorf("ParseManifest(%q) = %v, want a manifest field error", raw, err)
		}
	}
}

func TestValidSemver(t *testing.T) {
	t.Parallel()
	good := []string{"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
		"1.0.0-x.7.z.92", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85", "1.0.0-rc-1"}
	bad := []string{"", "1", "1.2", "1.2.3.4", "v1.2.3", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3+",
		"1.2.3-01", "1.2.3-a..b", " 1.2.3", "1.2.3 ", "1.2.3-beta_1"}
	for _, v := range good {
		if !extensions.ValidSemver(v) {
			t.Errorf("ValidSemver(%q) = false, want true", v)
		}
	}
	for _, v := range bad {
		if extensions.ValidSemver(v) {
			t.Errorf("ValidSemver(%q) = true, want false", v)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"publisher":"acme","name":"x","version":"1.0.0","runtime":"wasm32-wasip1","module":"m.wasm"}`))
	f.Add([]byte(`{"api":{"endpoints":[{"method":"GET","path":"//a//b","handler":"h"},null,7]}}`))
	f.Add([]byte(`{"config_schema":{"keys":[{"key":"a","default":1.5,"secret":true}]}}`))
	f.Add(mustJSON(f, validManifest()))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := extensions.ParseManifest(raw)
		if err != nil {
			if _, ok := fault.As(err); !ok {
				t.Fatalf("non-fault error %T: %v", err, err)
			}
			return
		}
		// A valid manifest always materializes without panicking.
		extensions.MaterializeEndpoints([16]byte{}, m.API.Endpoints)
	})
}

func writeBundleDir(t *testing.T, manifest map[string]any, module []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), mustJSON(t, manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if module != nil {
		if err := os.WriteFile(filepath.Join(dir, manifest["module"].(string)), module, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func zipBundle(t *testing.T, files map[string][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bundle.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadBundle(t *testing.T) {
	t.Parallel()
	module := []byte("\x00asm fake module")
	want := extensions.ContentHash(module)
	if !strings.HasPrefix(want, "sha256:") || len(want) != len("sha256:")+64 {
		t.Fatalf("content hash %q is not sha256:<hex>", want)
	}
	manifest := mustJSON(t, validManifest())

	cases := map[string]string{
		"dir":         writeBundleDir(t, validManifest(), module),
		"zip root":    zipBundle(t, map[string][]byte{"manifest.json": manifest, "module.wasm": module, "README.md": []byte("hi")}),
		"zip nested":  zipBundle(t, map[string][]byte{"crm/manifest.json": manifest, "crm/module.wasm": module}),
		"zip ./paths": zipBundle(t, map[string][]byte{"./manifest.json": manifest, "./module.wasm": module}),
	}
	for name, p := range cases {
		b, err := extensions.ReadBundle(p)
		if err != nil {
			t.Errorf("%s: ReadBundle: %v", name, err)
			continue
		}
		if b.ContentHash != want || !bytes.Equal(b.Module, module) {
			t.Errorf("%s: hash %s, want %s", name, b.ContentHash, want)
		}
	}
}

func TestReadBundleRejects(t *testing.T) {
	t.Parallel()
	manifest := mustJSON(t, validManifest())
	module := []byte("module")
	cases := map[string]struct {
		path  string
		field string
	}{
		"dotdot":          {zipBundle(t, map[string][]byte{"manifest.json": manifest, "../module.wasm": module}), "bundle"},
		"absolute":        {zipBundle(t, map[string][]byte{"manifest.json": manifest, "/etc/module.wasm": module}), "bundle"},
		"no manifest":     {zipBundle(t, map[string][]byte{"module.wasm": module}), "bundle"},
		"no module zip":   {zipBundle(t, map[string][]byte{"manifest.json": manifest}), "module"},
		"no module dir":   {writeBundleDir(t, validManifest(), nil), "bundle"},
		"empty module":    {writeBundleDir(t, validManifest(), []byte{}), "module"},
		"huge manifest":   {zipBundle(t, map[string][]byte{"manifest.json": bytes.Repeat([]byte(" "), extensions.MaxManifestBytes+1), "module.wasm": module}), "bundle"},
		"not a zip":       {writeFile(t, "x.zip", []byte("not a zip")), "bundle"},
		"invalid version": {writeBundleDir(t, func() map[string]any { m := validManifest(); m["version"] = "1"; return m }(), module), "version"},
	}
	for name, c := range cases {
		_, err := extensions.ReadBundle(c.path)
		fe, ok := fault.As(err)
		if !ok || fe.Fields[c.field] == "" {
			t.Errorf("%s: err = %v, want a field error on %q", name, err, c.field)
		}
	}
}

func writeFile(t *testing.T, name string, body []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
