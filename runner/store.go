package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Endpoint is one endpoint a version declares: the handler to run for a
// method and path. Path may hold parameters ({id}, :id, or * for the rest).
type Endpoint struct {
	Method  string
	Path    string
	Handler string
}

// MemoryStore is a ModuleStore held in memory: for tests, benchmarks and
// tools that run bundles straight from disk. Safe for concurrent use.
type MemoryStore struct {
	mu       sync.RWMutex
	versions map[string]memoryVersion
}

type memoryVersion struct {
	module    []byte
	endpoints []Endpoint
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{versions: map[string]memoryVersion{}}
}

// Add registers (or replaces) a version and returns its content hash.
func (s *MemoryStore) Add(versionID string, module []byte, endpoints []Endpoint) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[versionID] = memoryVersion{module: module, endpoints: endpoints}
	return ContentHash(module)
}

// Handler implements ModuleStore: an exact path match wins over a templated
// one.
func (s *MemoryStore) Handler(_ context.Context, versionID, method, path string) (string, error) {
	s.mu.RLock()
	v, ok := s.versions[versionID]
	s.mu.RUnlock()
	if !ok {
		return "", fmt.Errorf("version %s: %w", versionID, ErrNotFound)
	}
	return FindHandler(v.endpoints, method, path)
}

// Module implements ModuleStore.
func (s *MemoryStore) Module(_ context.Context, versionID, _ string) ([]byte, error) {
	s.mu.RLock()
	v, ok := s.versions[versionID]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("version %s: %w", versionID, ErrNotFound)
	}
	return v.module, nil
}

// FindHandler picks the handler for method and a concrete path among a
// version's endpoints: an exact match first, else the first template that
// matches (see MatchPath), else ErrNotFound.
func FindHandler(endpoints []Endpoint, method, path string) (string, error) {
	method = strings.ToUpper(method)
	for _, ep := range endpoints {
		if strings.EqualFold(ep.Method, method) && ep.Path == path {
			return ep.Handler, nil
		}
	}
	for _, ep := range endpoints {
		if strings.EqualFold(ep.Method, method) && MatchPath(ep.Path, path) {
			return ep.Handler, nil
		}
	}
	return "", fmt.Errorf("endpoint %s %s: %w", method, path, ErrNotFound)
}

// MatchPath reports whether a concrete path matches an endpoint path
// template. A segment {name} or :name matches any one non-empty segment; a
// segment * matches one segment, or, as the last segment, everything left.
func MatchPath(template, path string) bool {
	ts := strings.Split(strings.Trim(template, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	for i, t := range ts {
		if t == "*" && i == len(ts)-1 {
			return len(ps) >= len(ts) && ps[i] != ""
		}
		if i >= len(ps) {
			return false
		}
		isParam := t == "*" || strings.HasPrefix(t, ":") ||
			(strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}"))
		if isParam {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if t != ps[i] {
			return false
		}
	}
	return len(ts) == len(ps)
}
