package extensions_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"extcron/extensions"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	methods := map[string]string{" get ": "GET", "Post": "POST", "": "", "  ": ""}
	for in, want := range methods {
		if got := extensions.NormalizeMethod(in); got != want {
			t.Errorf("NormalizeMethod(%q) = %q, want %q", in, got, want)
		}
	}
	paths := map[string]string{
		"sync":          "/sync",
		" /sync ":       "/sync",
		"//a///b//":     "/a/b/",
		"/":             "/",
		"///":           "/",
		"":              "",
		"   ":           "",
		"a/{id}//x":     "/a/{id}/x",
		"/contacts/:id": "/contacts/:id",
	}
	for in, want := range paths {
		if got := extensions.NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaterializeEndpoints(t *testing.T) {
	t.Parallel()
	version := uuid.New()
	entries := []extensions.ManifestEndpoint{
		{Method: " get", Path: "cache//refresh", Handler: "refreshOld"}, // 0: overridden by 5
		{Method: "POST", Path: "/sync", Handler: "sync"},                // 1
		{Method: "", Path: "/x", Handler: "x"},                          // 2: no method
		{Method: "OPTIONS", Path: "/x", Handler: "x"},                   // 3: method not allowed
		{Method: "GET", Path: "  ", Handler: ""},                        // 4: no path, no handler
		{Method: "GET", Path: "/cache/refresh", Handler: " refresh "},   // 5
		{Method: "delete", Path: "/cache", Handler: "clear"},            // 6
	}
	got, warnings := extensions.MaterializeEndpoints(version, entries)
	want := []extensions.Endpoint{
		{Method: "POST", Path: "/sync", Handler: "sync", Schedulable: true},
		{Method: "GET", Path: "/cache/refresh", Handler: "refresh", Schedulable: true},
		{Method: "DELETE", Path: "/cache", Handler: "clear", Reason: "DELETE endpoints cannot be scheduled (only GET and POST)"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d endpoints %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Method != w.Method || g.Path != w.Path || g.Handler != w.Handler || g.Schedulable != w.Schedulable || g.Reason != w.Reason {
			t.Errorf("endpoint %d = %+v, want %+v", i, g, w)
		}
		if g.ID != extensions.EndpointID(version, w.Method, w.Path) || g.VersionID != version {
			t.Errorf("endpoint %d id %s is not the deterministic id", i, g.ID)
		}
	}
	for _, idx := range []string{"api.endpoints[2]", "api.endpoints[3]", "api.endpoints[4]", "api.endpoints[0]"} {
		found := false
		for _, w := range warnings {
			found = found || strings.HasPrefix(w, idx)
		}
		if !found {
			t.Errorf("no warning names %s: %q", idx, warnings)
		}
	}
	if len(warnings) != 4 {
		t.Errorf("got %d warnings %q, want 4", len(warnings), warnings)
	}

	again, _ := extensions.MaterializeEndpoints(version, entries)
	for i := range got {
		if again[i].ID != got[i].ID {
			t.Errorf("re-materializing changed id %d: %s vs %s", i, again[i].ID, got[i].ID)
		}
	}
	other, _ := extensions.MaterializeEndpoints(uuid.New(), entries)
	if other[0].ID == got[0].ID {
		t.Error("two versions share an endpoint id")
	}
}

func TestSchedulable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		ok           bool
		reason       string
	}{
		{"GET", "/cache/refresh", true, ""},
		{"post", "/sync", true, ""},
		{"PUT", "/sync", false, "PUT endpoints cannot be scheduled (only GET and POST)"},
		{"PATCH", "/a", false, "PATCH endpoints cannot be scheduled (only GET and POST)"},
		{"DELETE", "/a", false, "DELETE endpoints cannot be scheduled (only GET and POST)"},
		{"GET", "/contacts/{id}", false, "path has parameters (/contacts/{id}); scheduled calls have no values for them"},
		{"GET", "/hooks/:id", false, "path has parameters (/hooks/:id); scheduled calls have no values for them"},
		{"POST", "/deliveries/*/replay", false, "path has parameters (/deliveries/*/replay); scheduled calls have no values for them"},
		{"GET", "/odd}", false, "path has parameters (/odd}); scheduled calls have no values for them"},
	}
	for _, tt := range tests {
		ok, reason := extensions.Schedulable(tt.method, tt.path)
		if ok != tt.ok || reason != tt.reason {
			t.Errorf("Schedulable(%s, %s) = %v, %q; want %v, %q", tt.method, tt.path, ok, reason, tt.ok, tt.reason)
		}
	}
}
