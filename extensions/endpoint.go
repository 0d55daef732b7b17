package extensions

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// endpointNamespace seeds the uuid v5 ids of endpoints. It must never
// change: schedules reference endpoint ids, and a backfill must find the
// very same ids again.
var endpointNamespace = uuid.MustParse("6f1d3c0e-8a57-4a8e-9b1e-2c4f0d7e5a91")

// Methods an endpoint may declare.
var allowedMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// Endpoint is a materialized, normalized API endpoint of a version.
type Endpoint struct {
	ID        uuid.UUID `json:"id"`
	VersionID uuid.UUID `json:"-"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Handler   string    `json:"handler"`
	// Schedulable says whether schedules may call the endpoint; Reason
	// says why not when it is false.
	Schedulable bool   `json:"schedulable"`
	Reason      string `json:"reason"`
}

// EndpointID is the deterministic id of an endpoint: the same version,
// method and path always give the same id.
func EndpointID(versionID uuid.UUID, method, path string) uuid.UUID {
	return uuid.NewSHA1(endpointNamespace, []byte(versionID.String()+"\n"+method+"\n"+path))
}

// NormalizeMethod trims and upper-cases an HTTP method.
func NormalizeMethod(method string) string {
	return strings.ToUpper(strings.TrimSpace(method))
}

// NormalizePath trims a path, adds the leading "/" and collapses runs of
// "/". An empty or blank path stays "".
func NormalizePath(p string) string {
	p = strings.TrimSpace(p)
	if p == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(p) + 1)
	b.WriteByte('/')
	prevSlash := true
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' {
			if prevSlash {
				continue
			}
			prevSlash = true
		} else {
			prevSlash = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// MaterializeEndpoints turns a manifest's endpoint entries into the
// endpoints stored for versionID (SPEC §2): methods upper-cased, paths
// normalized; entries missing method, path or handler, or with a method
// outside GET/POST/PUT/PATCH/DELETE, are dropped with a warning naming the
// entry; duplicates of (method, path) keep the last entry. The result
// keeps manifest order and its ids are deterministic.
func MaterializeEndpoints(versionID uuid.UUID, entries []ManifestEndpoint) ([]Endpoint, []string) {
	var warnings []string
	type candidate struct {
		index int
		ep    Endpoint
	}
	kept := make([]candidate, 0, len(entries))
	last := map[[2]string]int{} // (method, path) -> index of the winning entry
	for i, e := range entries {
		where := fmt.Sprintf("api.endpoints[%d]", i)
		method, path, handler := NormalizeMethod(e.Method), NormalizePath(e.Path), strings.TrimSpace(e.Handler)
		var missing []string
		if method == "" {
			missing = append(missing, "method")
		}
		if path == "" {
			missing = append(missing, "path")
		}
		if handler == "" {
			missing = append(missing, "handler")
		}
		if len(missing) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s dropped: %s missing", where, joinAnd(missing)))
			continue
		}
		if !allowedMethods[method] {
			warnings = append(warnings, fmt.Sprintf("%s dropped: method %q is not one of GET, POST, PUT, PATCH, DELETE", where, clip(method)))
			continue
		}
		key := [2]string{method, path}
		if prev, dup := last[key]; dup {
			warnings = append(warnings, fmt.Sprintf("%s (%s %s) is declared again at %s; the later entry wins", fmt.Sprintf("api.endpoints[%d]", prev), method, clip(path), where))
		}
		last[key] = i
		ok, reason := Schedulable(method, path)
		kept = append(kept, candidate{index: i, ep: Endpoint{
			ID:          EndpointID(versionID, method, path),
			VersionID:   versionID,
			Method:      method,
			Path:        path,
			Handler:     handler,
			Schedulable: ok,
			Reason:      reason,
		}})
	}
	out := make([]Endpoint, 0, len(kept))
	for _, c := range kept {
		if last[[2]string{c.ep.Method, c.ep.Path}] == c.index {
			out = append(out, c.ep)
		}
	}
	return out, warnings
}

// Schedulable reports whether schedules may call an endpoint: only GET and
// POST, and only paths without parameters (a scheduled call has no values
// to fill them with). reason explains a false answer.
func Schedulable(method, path string) (ok bool, reason string) {
	method = NormalizeMethod(method)
	if method != "GET" && method != "POST" {
		return false, fmt.Sprintf("%s endpoints cannot be scheduled (only GET and POST)", method)
	}
	if strings.ContainsAny(path, ":{}*") {
		return false, fmt.Sprintf("path has parameters (%s); scheduled calls have no values for them", path)
	}
	return true, ""
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 1:
		return parts[0] + " is"
	case 2:
		return parts[0] + " and " + parts[1] + " are"
	default:
		return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1] + " are"
	}
}
