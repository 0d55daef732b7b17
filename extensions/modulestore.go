package extensions

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"extcron/db"
	"extcron/runner"
)

// ModuleStore serves the embedded runner the module bytes and handlers of
// published versions, straight from the registry.
type ModuleStore struct{ registry *Registry }

// NewModuleStore builds the store on a registry.
func NewModuleStore(r *Registry) *ModuleStore { return &ModuleStore{registry: r} }

var _ runner.ModuleStore = (*ModuleStore)(nil)

// Handler implements runner.ModuleStore.
func (s *ModuleStore) Handler(ctx context.Context, versionID, method, path string) (string, error) {
	id, err := uuid.Parse(versionID)
	if err != nil {
		return "", runner.ErrNotFound
	}
	rows, err := db.ListEndpoints(ctx, s.registry.conn, id)
	if err != nil {
		return "", err
	}
	eps := make([]runner.Endpoint, 0, len(rows))
	for _, r := range rows {
		eps = append(eps, runner.Endpoint{Method: r.Method, Path: r.Path, Handler: r.Handler})
	}
	return runner.FindHandler(eps, NormalizeMethod(method), NormalizePath(path))
}

// Module implements runner.ModuleStore.
func (s *ModuleStore) Module(ctx context.Context, versionID, contentHash string) ([]byte, error) {
	id, err := uuid.Parse(versionID)
	if err != nil {
		return nil, runner.ErrNotFound
	}
	b, err := db.ModuleBytes(ctx, s.registry.conn, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, runner.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load module of version %s: %w", versionID, err)
	}
	return b, nil
}
