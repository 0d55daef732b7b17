package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// Sample extensions the tests run, built once per test binary (lazily, so
// client-only runs and fuzzing do not pay for it).
var samples = struct {
	once    sync.Once
	dir     string
	modules map[string][]byte
	err     error
}{}

// sampleDirs maps a sample name to its package directory.
var sampleDirs = map[string]string{
	"crm-sync-v1": "extensions/samples/crm-sync/v1",
	"crm-sync-v2": "extensions/samples/crm-sync/v2",
	"slowpoke":    "extensions/samples/slowpoke",
	"flaky":       "extensions/samples/flaky",
}

// sampleModule returns the wasm bytes of a sample, building all samples in
// parallel the first time.
func sampleModule(tb testing.TB, name string) []byte {
	tb.Helper()
	samples.once.Do(buildSamples)
	if samples.err != nil {
		tb.Fatalf("building sample extensions: %v", samples.err)
	}
	b, ok := samples.modules[name]
	if !ok {
		tb.Fatalf("no sample %q", name)
	}
	return b
}

func buildSamples() {
	dir, err := os.MkdirTemp("", "extcron-samples-")
	if err != nil {
		samples.err = err
		return
	}
	samples.dir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	samples.modules = map[string][]byte{}
	for name, pkg := range sampleDirs {
		wg.Go(func() {
			out := filepath.Join(dir, name+".wasm")
			cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./"+pkg)
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=")
			msg, err := cmd.CombinedOutput()
			var b []byte
			if err == nil {
				b, err = os.ReadFile(out)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %v\n%s", pkg, err, msg))
				return
			}
			samples.modules[name] = b
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		samples.err = fmt.Errorf("%v", errs)
		return
	}
	if raceEnabled && testCacheDir() != "" {
		// Compile with a race-free build of wazero into the shared cache.
		var paths []string
		for name := range sampleDirs {
			paths = append(paths, filepath.Join(dir, name+".wasm"))
		}
		cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "./testdata/precompile")
		cmd.Env = append(os.Environ(), "GOFLAGS=",
			"PRECOMPILE_CACHE_DIR="+testCacheDir(),
			"PRECOMPILE_MODULES="+strings.Join(paths, string(filepath.ListSeparator)))
		if msg, err := cmd.CombinedOutput(); err != nil {
			// Not fatal: the tests compile the modules themselves, slower.
			fmt.Fprintf(os.Stderr, "precompiling samples: %v\n%s", err, msg)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if samples.dir != "" {
		_ = os.RemoveAll(samples.dir)
	}
	os.Exit(code)
}

// manifestEndpoints reads a sample's manifest.json into Endpoints.
func manifestEndpoints(tb testing.TB, name string) []Endpoint {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", sampleDirs[name], "manifest.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var m struct {
		API struct {
			Endpoints []struct {
				Method  string `json:"method"`
				Path    string `json:"path"`
				Handler string `json:"handler"`
			} `json:"endpoints"`
		} `json:"api"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatalf("%s/manifest.json: %v", sampleDirs[name], err)
	}
	var eps []Endpoint
	for _, ep := range m.API.Endpoints {
		eps = append(eps, Endpoint{Method: ep.Method, Path: ep.Path, Handler: ep.Handler})
	}
	return eps
}

// testCompilationCache keeps wazero's machine code across the runners of a
// test binary and, on disk, across runs: compiling a Go module takes seconds
// (tens of seconds under -race). Keyed by wazero version and module bytes, it
// cannot go stale.
var testCompilationCache = sync.OnceValue(func() wazero.CompilationCache {
	if dir := testCacheDir(); dir != "" {
		if c, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
			return c
		}
	}
	return wazero.NewCompilationCache()
})

// testCacheDir is where testCompilationCache keeps its files ("" if none).
func testCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "extcron", "wazero-test")
}

// sampleStore returns a MemoryStore holding every sample as a version whose
// id is the sample name, and the content hashes by name.
func sampleStore(tb testing.TB) (*MemoryStore, map[string]string) {
	tb.Helper()
	store := NewMemoryStore()
	hashes := map[string]string{}
	for name := range sampleDirs {
		hashes[name] = store.Add(name, sampleModule(tb, name), manifestEndpoints(tb, name))
	}
	return store, hashes
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// embeddedFixture is an embedded runner with every sample, served on
// loopback, and what tests need around it.
type embeddedFixture struct {
	runner *Embedded
	store  *MemoryStore
	hashes map[string]string
	url    string
	logs   *syncBuffer
}

// newEmbeddedFixture starts a fresh embedded runner (sharing only compiled
// machine code with other tests).
func newEmbeddedFixture(t *testing.T) *embeddedFixture {
	t.Helper()
	shared(t) // fills the compilation cache first
	tb := testing.TB(t)
	store, hashes := sampleStore(tb)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := NewEmbedded(store, logger, WithCompilationCache(testCompilationCache()))
	srv := httptest.NewServer(e.Handler())
	tb.Cleanup(func() {
		srv.Close()
		if err := e.Close(context.Background()); err != nil {
			tb.Errorf("closing the embedded runner: %v", err)
		}
	})
	return &embeddedFixture{runner: e, store: store, hashes: hashes, url: srv.URL, logs: logs}
}

// sharedFixture is one embedded runner for the tests that do not inspect its
// counters, so each module is compiled once per test binary.
var sharedFixture = struct {
	once sync.Once
	f    *embeddedFixture
}{}

func shared(t *testing.T) *embeddedFixture {
	t.Helper()
	sharedFixture.once.Do(func() {
		store, hashes := sampleStore(t)
		logs := &syncBuffer{}
		logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		e := NewEmbedded(store, logger, WithCompilationCache(testCompilationCache()))
		// Left running until the test binary exits, like a server would be.
		srv := httptest.NewServer(e.Handler())
		f := &embeddedFixture{runner: e, store: store, hashes: hashes, url: srv.URL, logs: logs}
		// Compile every sample up front, in parallel: this also fills the
		// compilation cache that fresh fixtures reuse.
		var wg sync.WaitGroup
		for name := range sampleDirs {
			wg.Go(func() { f.warm(t, name) })
		}
		wg.Wait()
		sharedFixture.f = f
	})
	if sharedFixture.f == nil {
		t.Fatal("shared embedded runner failed to start")
	}
	return sharedFixture.f
}

// call builds a Call for a sample endpoint.
func (f *embeddedFixture) call(sample, method, path, payload string) Call {
	c := testCall()
	c.VersionID, c.ContentHash = sample, f.hashes[sample]
	c.Method, c.Path = method, path
	c.Payload = nil
	if payload != "" {
		c.Payload = json.RawMessage(payload)
	}
	return c
}

// warm compiles a sample ahead of a test that measures deadlines, so that
// compiling (seconds, more under -race) is not mistaken for running.
func (f *embeddedFixture) warm(tb testing.TB, sample string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, release, err := f.runner.compiledModule(ctx, sample, f.hashes[sample])
	if err != nil {
		tb.Errorf("compiling %s: %v", sample, err)
		return
	}
	release()
}
