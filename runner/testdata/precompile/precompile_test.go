// Package precompile fills a wazero file compilation cache with the modules
// named in $PRECOMPILE_MODULES (separated by the OS list separator), in
// $PRECOMPILE_CACHE_DIR. The runner tests run it, built without -race, before
// a race-enabled run, because wazero's compiler is many times slower under the
// race detector; the cache key does not depend on how wazero was built. It is
// a test, not a command, because wazero names its cache directory after its
// version, which only a test binary reports the same way ("dev").
//
// Usage: PRECOMPILE_CACHE_DIR=... PRECOMPILE_MODULES=a.wasm:b.wasm go test ./runner/testdata/precompile
package precompile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
)

func TestPrecompile(t *testing.T) {
	dir, list := os.Getenv("PRECOMPILE_CACHE_DIR"), os.Getenv("PRECOMPILE_MODULES")
	if dir == "" || list == "" {
		t.Skip("PRECOMPILE_CACHE_DIR and PRECOMPILE_MODULES not set")
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, path := range strings.Split(list, string(filepath.ListSeparator)) {
		wg.Go(func() {
			bin, err := os.ReadFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			// Same configuration as runner.NewEmbedded: it is part of the key.
			rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache)
			rt := wazero.NewRuntimeWithConfig(ctx, rc)
			defer rt.Close(ctx)
			if _, err := rt.CompileModule(ctx, bin); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		})
	}
	wg.Wait()
}
