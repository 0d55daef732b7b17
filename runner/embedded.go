package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// ErrNotFound is returned (possibly wrapped) by a ModuleStore when the
// version, its module or the endpoint does not exist.
var ErrNotFound = errors.New("runner: not found")

// ModuleStore gives the embedded runner the code it executes. The runner asks
// for the handler on every call (a small lookup) and for the module bytes
// only when the compiled module for that content hash is not cached.
type ModuleStore interface {
	// Handler returns the handler the version declares for method and the
	// concrete request path, or ErrNotFound. Stores may match templated
	// endpoint paths such as /contacts/{id} (see MatchPath).
	Handler(ctx context.Context, versionID, method, path string) (string, error)
	// Module returns the module bytes of the version, or ErrNotFound. The
	// runner verifies that they hash to contentHash before compiling them.
	Module(ctx context.Context, versionID, contentHash string) ([]byte, error)
}

// Limits of the embedded runner that the request cannot change.
const (
	// MaxRequestBytes caps a /v1/execute request body (413 above).
	MaxRequestBytes = 2 << 20
	// MaxOutputBytes caps what an extension may write to stdout.
	MaxOutputBytes = 8 << 20
	// MaxLogBytes caps what an extension may write to stderr; the rest is
	// dropped.
	MaxLogBytes = 64 << 10
	// MaxTimeout caps limits.timeout_ms.
	MaxTimeout = 15 * time.Minute
	// MaxMemoryMB caps limits.memory_mb (a wasm32 memory is at most 4 GiB).
	MaxMemoryMB = 4096
	// moduleLoadTimeout bounds fetching and compiling a module, which runs
	// detached from the request that triggered it so other calls can use it.
	moduleLoadTimeout = 2 * time.Minute
)

// Embedded is the in-process Runner: it serves POST /v1/execute by running
// the version's WebAssembly module with wazero (SPEC §3).
type Embedded struct {
	store   ModuleStore
	logger  *slog.Logger
	runtime wazero.Runtime
	slots   chan struct{}

	mu         sync.Mutex
	modules    map[string]*cachedModule // by content hash
	maxModules int
	useClock   uint64 // orders uses, for evicting the least recently used
	closed     bool
	inflight   sync.WaitGroup

	compiles   atomic.Int64
	executions atomic.Int64
}

// NewEmbedded returns an embedded runner that loads modules from store. Close
// it to release the compiled modules.
func NewEmbedded(store ModuleStore, logger *slog.Logger, opts ...EmbeddedOption) *Embedded {
	cfg := embeddedConfig{maxConcurrent: 16, maxModules: 16}
	for _, o := range opts {
		o(&cfg)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Close-on-context-done makes a guest stuck in a loop stop at the deadline.
	rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(true)
	if cfg.cache != nil {
		rc = rc.WithCompilationCache(cfg.cache)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	return &Embedded{
		store:      store,
		logger:     logger,
		runtime:    rt,
		slots:      make(chan struct{}, cfg.maxConcurrent),
		modules:    map[string]*cachedModule{},
		maxModules: cfg.maxModules,
	}
}

type cachedModule struct {
	ready    chan struct{}
	compiled wazero.CompiledModule
	err      error
	// Guarded by e.mu: the last use (e.useClock), the calls holding the
	// module, and whether it was dropped from the cache (closed when the
	// last holder lets go).
	lastUse uint64
	users   int
	dropped bool
}

// EmbeddedOption configures NewEmbedded.
type EmbeddedOption func(*embeddedConfig)

type embeddedConfig struct {
	maxConcurrent int
	maxModules    int
	cache         wazero.CompilationCache
}

// WithMaxModules bounds the compiled modules kept in memory (default 16;
// a compiled Go module takes tens of megabytes). Past it the least
// recently used one is dropped, and compiled again (or read back from the
// compilation cache) when called again.
func WithMaxModules(n int) EmbeddedOption {
	return func(c *embeddedConfig) {
		if n > 0 {
			c.maxModules = n
		}
	}
}

// WithMaxConcurrent bounds how many modules execute at once (default 16);
// calls beyond it wait for a slot until their deadline.
func WithMaxConcurrent(n int) EmbeddedOption {
	return func(c *embeddedConfig) {
		if n > 0 {
			c.maxConcurrent = n
		}
	}
}

// WithCompilationCache shares compiled machine code across runtimes or,
// with wazero.NewCompilationCacheWithDir, across restarts.
func WithCompilationCache(cache wazero.CompilationCache) EmbeddedOption {
	return func(c *embeddedConfig) { c.cache = cache }
}

// EmbeddedStats are counters of an embedded runner, for metrics and tests.
type EmbeddedStats struct {
	Compiles      int64 // modules compiled since start
	CachedModules int   // compiled modules held in the cache
	Executions    int64 // modules instantiated since start
}

// Stats returns the runner's counters.
func (e *Embedded) Stats() EmbeddedStats {
	e.mu.Lock()
	n := 0
	for _, m := range e.modules {
		select {
		case <-m.ready:
			if m.err == nil {
				n++
			}
		default:
		}
	}
	e.mu.Unlock()
	return EmbeddedStats{Compiles: e.compiles.Load(), CachedModules: n, Executions: e.executions.Load()}
}

// Handler serves POST /v1/execute and GET /healthz.
func (e *Embedded) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ExecutePath, e.serveExecute)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// Serve runs the embedded runner as a standalone HTTP service on addr until
// ctx is done, then shuts the server down gracefully and closes e.
func (e *Embedded) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("runner: listen on %s: %w", addr, err)
	}
	return e.serve(ctx, ln)
}

func (e *Embedded) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           e.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	e.logger.Info("runner listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("runner: serve: %w", err)
	case <-ctx.Done():
	}
	// Executions are bounded by their own timeout; give them that long.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), MaxTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if cerr := e.Close(shutdownCtx); err == nil {
		err = cerr
	}
	<-errc
	return err
}

// Close refuses new calls, waits for running ones (or ctx), then releases
// the runtime and its compiled modules. It is idempotent.
func (e *Embedded) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		e.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	// Closing the runtime also stops any guest still running.
	return e.runtime.Close(context.WithoutCancel(ctx))
}

func (e *Embedded) serveExecute(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeJSON(w, http.StatusRequestEntityTooLarge, Response{Error: fmt.Sprintf("request too large (more than %d bytes)", MaxRequestBytes)})
			return
		}
		writeJSON(w, http.StatusBadRequest, Response{Error: "reading request failed"})
		return
	}
	var req Request
	if err := json.Unmarshal(raw, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, Response{Error: "invalid request: body is not a valid execute request"})
		return
	}
	if msg := validateRequest(&req); msg != "" {
		writeJSON(w, http.StatusBadRequest, Response{Error: "invalid request: " + msg})
		return
	}
	if id := r.Header.Get(HeaderRequestID); id != "" && req.Context.RequestID == "" {
		req.Context.RequestID = id
	}
	status, resp := e.execute(r.Context(), &req)
	writeJSON(w, status, resp)
}

func validateRequest(req *Request) string {
	switch {
	case req.Context.VersionID == "":
		return "context.version_id is required"
	case !validContentHash(req.Context.ContentHash):
		return "context.content_hash must be sha256:<64 hex digits>"
	case req.HTTP.Method == "":
		return "http.method is required"
	case !strings.HasPrefix(req.HTTP.Path, "/"):
		return "http.path must start with /"
	case req.Limits.TimeoutMS < 0:
		return "limits.timeout_ms must not be negative"
	case req.Limits.MemoryMB < 0 || req.Limits.MemoryMB > MaxMemoryMB:
		return fmt.Sprintf("limits.memory_mb must be between 0 and %d", MaxMemoryMB)
	}
	if req.HTTP.BodyB64 != "" {
		if _, err := base64.StdEncoding.DecodeString(req.HTTP.BodyB64); err != nil {
			return "http.body_b64 is not valid base64"
		}
	}
	return ""
}

// ContentHash returns the content hash of module bytes: sha256:<hex>.
func ContentHash(module []byte) string {
	sum := sha256.Sum256(module)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func validContentHash(h string) bool {
	hexPart, ok := strings.CutPrefix(h, "sha256:")
	if !ok || len(hexPart) != sha256.Size*2 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// guestInput is what the module reads on stdin.
type guestInput struct {
	Handler string            `json:"handler"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query"`
	Headers map[string]string `json:"headers"`
	BodyB64 string            `json:"body_b64,omitempty"`
	Context ExecContext       `json:"context"`
	Config  map[string]string `json:"config"`
}

// guestOutput is what the module must write on stdout.
type guestOutput struct {
	Status  *int              `json:"status"`
	Headers map[string]string `json:"headers"`
	BodyB64 *string           `json:"body_b64"`
}

// execute runs one request and returns the HTTP status and body to answer.
// Failures of the extension are 200 with error set (the contract's error
// field), except a time limit, which is 504 so that it stays retryable.
func (e *Embedded) execute(ctx context.Context, req *Request) (int, Response) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return http.StatusServiceUnavailable, Response{Error: "runner is shutting down"}
	}
	e.inflight.Add(1)
	e.mu.Unlock()
	defer e.inflight.Done()

	timeout := time.Duration(req.Limits.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	timeout = min(timeout, MaxTimeout)
	memoryMB := req.Limits.MemoryMB
	if memoryMB <= 0 {
		memoryMB = DefaultMemoryMB
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	log := e.logger.With(
		"request_id", req.Context.RequestID,
		"tenant_id", req.Context.TenantID,
		"install_id", req.Context.InstallID,
		"extension_id", req.Context.ExtensionID,
		"version_id", req.Context.VersionID,
		"schedule_id", req.Context.ScheduleID,
	)

	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	case <-ctx.Done():
		return http.StatusServiceUnavailable, Response{Error: "runner busy: no execution slot before the deadline"}
	}

	method := strings.ToUpper(req.HTTP.Method)
	handler, err := e.store.Handler(ctx, req.Context.VersionID, method, req.HTTP.Path)
	if errors.Is(err, ErrNotFound) {
		return http.StatusOK, Response{Error: fmt.Sprintf("the extension version declares no endpoint %s %s", method, req.HTTP.Path)}
	}
	if err != nil {
		if ctx.Err() != nil {
			return http.StatusGatewayTimeout, Response{Error: "time limit reached before the extension started"}
		}
		log.Error("looking up extension handler", "error", err)
		return http.StatusServiceUnavailable, Response{Error: "module store unavailable"}
	}
	compiled, release, err := e.compiledModule(ctx, req.Context.VersionID, req.Context.ContentHash)
	if err != nil {
		return e.loadFailure(ctx, log, err)
	}
	defer release()

	in, err := json.Marshal(guestInput{
		Handler: handler,
		Method:  method,
		Path:    req.HTTP.Path,
		Query:   nonNil(req.HTTP.Query),
		Headers: nonNil(req.HTTP.Headers),
		BodyB64: req.HTTP.BodyB64,
		Context: req.Context,
		Config:  nonNil(req.Context.Config),
	})
	if err != nil {
		return http.StatusInternalServerError, Response{Error: "encoding extension input failed"}
	}
	start := time.Now()
	out, logs, runErr := e.run(ctx, compiled, in, uint64(memoryMB)<<20)
	for _, line := range logs {
		log.Info("extension log", "line", line)
	}
	status, resp := outcome(ctx, out, runErr)
	resp.Logs = logs
	log.Debug("extension executed", "handler", handler, "duration_ms", time.Since(start).Milliseconds(),
		"status", resp.Status, "error", resp.Error)
	return status, resp
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

var (
	errHashMismatch = errors.New("module bytes do not match the content hash")
	errMemoryLimit  = errors.New("extension exceeded its memory limit")
	errOutputLimit  = errors.New("output limit")
)

// compileError marks a module the runtime refused.
type compileError struct{ err error }

func (c compileError) Error() string { return "compiling module: " + c.err.Error() }

func (e *Embedded) loadFailure(ctx context.Context, log *slog.Logger, err error) (int, Response) {
	var ce compileError
	switch {
	case ctx.Err() != nil:
		return http.StatusGatewayTimeout, Response{Error: "extension exceeded its time limit while its module was loading"}
	case errors.Is(err, ErrNotFound):
		return http.StatusOK, Response{Error: "extension module not found"}
	case errors.Is(err, errHashMismatch):
		log.Error("refusing module", "error", err)
		return http.StatusOK, Response{Error: "extension module does not match its content hash"}
	case errors.As(err, &ce):
		log.Warn("invalid extension module", "error", err)
		return http.StatusOK, Response{Error: "extension module is not a valid WebAssembly module"}
	}
	log.Error("loading extension module", "error", err)
	return http.StatusServiceUnavailable, Response{Error: "module store unavailable"}
}

// compiledModule returns the cached compiled module for contentHash, loading
// and compiling it at most once even under concurrent calls, and a release
// the caller runs when done with it. The load runs detached from ctx so a
// caller giving up does not waste the work.
func (e *Embedded) compiledModule(ctx context.Context, versionID, contentHash string) (wazero.CompiledModule, func(), error) {
	contentHash = strings.ToLower(contentHash)
	e.mu.Lock()
	e.useClock++
	m, ok := e.modules[contentHash]
	if ok {
		m.lastUse = e.useClock
	} else {
		e.evictLocked()
		m = &cachedModule{ready: make(chan struct{}), lastUse: e.useClock}
		e.modules[contentHash] = m
		e.inflight.Add(1)
		go func() {
			defer e.inflight.Done()
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), moduleLoadTimeout)
			defer cancel()
			compiled, err := e.loadModule(lctx, versionID, contentHash)
			e.mu.Lock()
			m.compiled, m.err = compiled, err
			if err != nil && e.modules[contentHash] == m {
				delete(e.modules, contentHash) // let a later call try again
			}
			e.mu.Unlock()
			close(m.ready)
		}()
	}
	m.users++
	e.mu.Unlock()
	select {
	case <-m.ready:
		if m.err != nil {
			e.release(m)
			return nil, nil, m.err
		}
		return m.compiled, func() { e.release(m) }, nil
	case <-ctx.Done():
		e.release(m)
		return nil, nil, ctx.Err()
	}
}

// release lets go of a module; the last holder of a dropped module closes
// it.
func (e *Embedded) release(m *cachedModule) {
	e.mu.Lock()
	m.users--
	closeIt := m.dropped && m.users == 0 && m.compiled != nil
	e.mu.Unlock()
	if closeIt {
		_ = m.compiled.Close(context.Background())
	}
}

// evictLocked makes room for one more module: while the cache is full it
// drops the least recently used module that has finished loading. A module
// still held by calls is closed when the last of them ends; later calls
// load it again.
func (e *Embedded) evictLocked() {
	for len(e.modules) >= e.maxModules {
		var oldest string
		var victim *cachedModule
		for hash, m := range e.modules {
			select {
			case <-m.ready:
			default:
				continue // still loading
			}
			if victim == nil || m.lastUse < victim.lastUse {
				oldest, victim = hash, m
			}
		}
		if victim == nil {
			return // everything is loading: let the cache grow for now
		}
		delete(e.modules, oldest)
		victim.dropped = true
		if victim.users == 0 && victim.compiled != nil {
			go func() { _ = victim.compiled.Close(context.Background()) }()
		}
		e.logger.Info("compiled module dropped from the cache", "content_hash", oldest, "max_modules", e.maxModules)
	}
}

func (e *Embedded) loadModule(ctx context.Context, versionID, contentHash string) (wazero.CompiledModule, error) {
	bin, err := e.store.Module(ctx, versionID, contentHash)
	if err != nil {
		return nil, fmt.Errorf("fetching module of version %s: %w", versionID, err)
	}
	if got := ContentHash(bin); got != contentHash {
		return nil, fmt.Errorf("version %s: %w (want %s, got %s)", versionID, errHashMismatch, contentHash, got)
	}
	e.compiles.Add(1)
	compiled, err := e.runtime.CompileModule(ctx, bin)
	if err != nil {
		return nil, compileError{err}
	}
	return compiled, nil
}

// run instantiates the module as a WASI command with no filesystem, network
// or environment, feeding in on stdin. It returns stdout and stderr lines.
func (e *Embedded) run(ctx context.Context, compiled wazero.CompiledModule, in []byte, memoryLimit uint64) ([]byte, []string, error) {
	e.executions.Add(1)
	for _, mem := range compiled.ExportedMemories() {
		if uint64(mem.Min())*65536 > memoryLimit {
			return nil, nil, errMemoryLimit
		}
	}
	stdout := &cappedBuffer{max: MaxOutputBytes}
	stderr := &cappedBuffer{max: MaxLogBytes}
	alloc := &limitedAllocator{limit: memoryLimit}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous, so the same module can run concurrently
		WithArgs("extension").
		WithStdin(bytes.NewReader(in)).
		WithStdout(stdout).
		WithStderr(stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(sleepUntil(ctx)).
		WithRandSource(rand.Reader)
	mod, err := e.runtime.InstantiateModule(experimental.WithMemoryAllocator(ctx, alloc), compiled, cfg)
	if mod != nil {
		_ = mod.Close(context.WithoutCancel(ctx))
	}
	logs := logLines(stderr)
	switch {
	case err != nil && ctx.Err() == nil && alloc.exceeded.Load():
		return nil, logs, errMemoryLimit
	case err != nil:
		return nil, logs, err
	case stdout.overflow:
		return nil, logs, errOutputLimit
	}
	return stdout.buf.Bytes(), logs, nil
}

// outcome turns the result of run into the runner's answer.
func outcome(ctx context.Context, stdout []byte, runErr error) (int, Response) {
	var exit *sys.ExitError
	switch {
	case runErr == nil:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return http.StatusGatewayTimeout, Response{Error: "extension exceeded its time limit"}
	case ctx.Err() != nil:
		return http.StatusServiceUnavailable, Response{Error: "execution canceled"}
	case errors.Is(runErr, errMemoryLimit):
		return http.StatusOK, Response{Error: errMemoryLimit.Error()}
	case errors.Is(runErr, errOutputLimit):
		return http.StatusOK, Response{Error: fmt.Sprintf("extension wrote too much output (more than %d bytes)", MaxOutputBytes)}
	case errors.As(runErr, &exit):
		return http.StatusOK, Response{Error: fmt.Sprintf("extension crashed: exit code %d", exit.ExitCode())}
	default:
		// A trap: keep its first line ("wasm error: unreachable"), not the stack.
		first, _, _ := strings.Cut(runErr.Error(), "\n")
		return http.StatusOK, Response{Error: "extension crashed: " + oneLine(first, 200)}
	}
	if len(bytes.TrimSpace(stdout)) == 0 {
		return http.StatusOK, Response{Error: "extension wrote no output"}
	}
	var out guestOutput
	if err := json.Unmarshal(stdout, &out); err != nil || out.Status == nil || *out.Status < 100 || *out.Status > 599 {
		return http.StatusOK, Response{Error: "extension wrote invalid output"}
	}
	resp := Response{Status: *out.Status, Headers: nonNil(out.Headers)}
	if out.BodyB64 != nil {
		if _, err := base64.StdEncoding.DecodeString(*out.BodyB64); err != nil {
			return http.StatusOK, Response{Error: "extension wrote invalid output"}
		}
		resp.BodyB64 = *out.BodyB64
	}
	return http.StatusOK, resp
}

// sleepUntil is the guest's nanosleep: a real sleep that ends early when ctx
// is done, so a guest sleeping past its deadline is stopped at the deadline.
func sleepUntil(ctx context.Context) sys.Nanosleep {
	return func(ns int64) {
		t := time.NewTimer(time.Duration(ns))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// cappedBuffer keeps the first max bytes written and notes the overflow. It
// never fails a write, so a chatty guest is not disturbed.
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(p) > room {
		c.overflow = true
		c.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}

// logLines splits stderr into non-empty, valid UTF-8 lines.
func logLines(stderr *cappedBuffer) []string {
	var lines []string
	for line := range strings.SplitSeq(stderr.buf.String(), "\n") {
		if line = strings.TrimRight(strings.ToValidUTF8(line, "\uFFFD"), "\r \t"); line != "" {
			lines = append(lines, strings.ReplaceAll(line, "\x00", ""))
		}
	}
	if stderr.overflow {
		lines = append(lines, fmt.Sprintf("[log truncated after %d bytes]", stderr.max))
	}
	return lines
}

// limitedAllocator backs a guest's linear memory and refuses to grow it past
// limit, remembering that it did so: that is how "exceeded its memory limit"
// is told apart from other crashes (a Go guest exits with code 2 either way).
type limitedAllocator struct {
	limit    uint64
	exceeded atomic.Bool
}

// Allocate implements experimental.MemoryAllocator.
func (a *limitedAllocator) Allocate(_, _ uint64) experimental.LinearMemory {
	return &limitedMemory{alloc: a}
}

type limitedMemory struct {
	alloc *limitedAllocator
	buf   []byte
}

// Reallocate implements experimental.LinearMemory. The initial allocation is
// never refused (wazero requires it; run checks the minimum beforehand).
func (m *limitedMemory) Reallocate(size uint64) []byte {
	if m.buf != nil && size > m.alloc.limit {
		m.alloc.exceeded.Store(true)
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	// Grow geometrically (bounded by the limit) to keep copies rare.
	newCap := max(size, min(2*uint64(cap(m.buf)), m.alloc.limit))
	b := make([]byte, size, newCap)
	copy(b, m.buf)
	m.buf = b
	return b
}

// Free implements experimental.LinearMemory.
func (m *limitedMemory) Free() { m.buf = nil }
