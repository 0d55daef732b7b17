// Command precompile fills a wazero file compilation cache with the given
// modules. The runner tests run it (built without -race) before a race-enabled
// test run, because wazero's compiler is many times slower under the race
// detector; the cache key does not depend on how the compiler was built.
//
// Usage: go run ./runner/testdata/precompile CACHEDIR MODULE.wasm...
package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/tetratelabs/wazero"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: precompile CACHEDIR MODULE.wasm...")
		os.Exit(2)
	}
	cache, err := wazero.NewCompilationCacheWithDir(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	var (
		wg     sync.WaitGroup
		failed bool
		mu     sync.Mutex
	)
	for _, path := range os.Args[2:] {
		wg.Go(func() {
			bin, err := os.ReadFile(path)
			if err == nil {
				// Same configuration as NewEmbedded: it is part of the cache key.
				rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache))
				defer rt.Close(ctx)
				_, err = rt.CompileModule(ctx, bin)
			}
			if err != nil {
				mu.Lock()
				failed = true
				mu.Unlock()
				fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			}
		})
	}
	wg.Wait()
	if failed {
		os.Exit(1)
	}
}
