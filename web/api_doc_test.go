package web_test

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"extcron/db/dbtest"
	"extcron/web"
	"extcron/web/webtest"
)

// docRoute is a route-table row of docs/api.md: a first cell such as
// `GET /extensions/{ext}`.
var docRoute = regexp.MustCompile("^\\|\\s*`(GET|POST|PUT|PATCH|DELETE) (/[^`\\s]*)`\\s*\\|")

// fiberParam is a fiber path parameter (:ext), written {ext} in the doc.
var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// documentedRoutes reads the "## Routes" section of the API reference and
// returns its "METHOD /path" rows, paths relative to /api/v1.
func documentedRoutes(t *testing.T, doc string) map[string]bool {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n## Routes\n")
	if !ok {
		t.Fatal(`docs/api.md has no "## Routes" section`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	routes := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		m := docRoute.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		route := m[1] + " " + m[2]
		if routes[route] {
			t.Errorf("docs/api.md lists %s twice", route)
		}
		routes[route] = true
	}
	if len(routes) == 0 {
		t.Fatal("docs/api.md's route table has no `METHOD /path` rows")
	}
	return routes
}

// The route table of docs/api.md and the tenant routes the app registers
// under /api/v1 must be the same set: a route added without documentation,
// or documented but gone, fails here. Operator routes (/admin) are
// documented in docs/operators.md.
func TestAPIDocListsEveryRoute(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := documentedRoutes(t, string(raw))

	// Build a second app from exactly the options the running one uses.
	var opts web.Options
	webtest.Start(t, dbtest.New(t), func(o *web.Options) { opts = *o })
	registered := map[string]bool{}
	for _, r := range web.New(opts).GetRoutes(true) { // true: leave out Use handlers
		path, ok := strings.CutPrefix(r.Path, "/api/v1/")
		if !ok || r.Method == "HEAD" || strings.HasPrefix(path, "admin/") {
			continue
		}
		registered[r.Method+" /"+fiberParam.ReplaceAllString(path, "{$1}")] = true
	}
	if len(registered) == 0 {
		t.Fatal("the app registers no /api/v1 routes; the test no longer sees them")
	}

	var undocumented, unknown []string
	for r := range registered {
		if !documented[r] {
			undocumented = append(undocumented, r)
		}
	}
	for r := range documented {
		if !registered[r] {
			unknown = append(unknown, r)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unknown)
	for _, r := range undocumented {
		t.Errorf("route %s is registered under /api/v1 but missing from the route table of docs/api.md", r)
	}
	for _, r := range unknown {
		t.Errorf("docs/api.md documents %s, but the app registers no such route under /api/v1", r)
	}
}
