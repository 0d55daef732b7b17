// Package pgcluster runs a private PostgreSQL cluster from the PostgreSQL
// binaries installed on the machine. It is extcron's embedded default (no
// DATABASE_URL) and the database of the tests.
//
// The cluster listens only on a Unix socket inside its own directory, so it
// never clashes with another PostgreSQL on the machine. PostgreSQL refuses
// to run as root; when extcron runs as root the cluster runs as the
// unprivileged "postgres" system user instead.
package pgcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoBinaries says PostgreSQL is not installed where we look.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found: install them (Debian: sudo apt-get install postgresql) or set DATABASE_URL to an existing database")

// Options tune a cluster. The zero value is right for production use.
type Options struct {
	// Durable false turns off fsync: for throwaway test clusters only.
	Durable bool
	// MaxConnections for the server; 0 means 200.
	MaxConnections int
	// ExtraSettings are passed as -c name=value to the server.
	ExtraSettings map[string]string
}

// Cluster is one private PostgreSQL cluster.
type Cluster struct {
	dir     string // PGDATA; the socket lives here too
	binDir  string
	cred    *syscall.Credential // nil when we are not root
	opts    Options
	started bool // true when this process started the server
}

// New prepares (but does not start) the cluster kept under dataDir.
// When running as root and the postgres user cannot reach dataDir, the
// cluster lives under /var/lib/extcron instead, keyed by dataDir's path.
func New(dataDir string, opts Options) (*Cluster, error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	c := &Cluster{dir: filepath.Join(abs, "postgres"), binDir: binDir, opts: opts}
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			return nil, err
		}
		c.cred = cred
		if !reachable(abs, cred) {
			sum := sha256.Sum256([]byte(abs))
			c.dir = filepath.Join("/var/lib/extcron/clusters", hex.EncodeToString(sum[:8]))
		}
	}
	return c, nil
}

// Dir is the cluster's data directory (and socket directory).
func (c *Cluster) Dir() string { return c.dir }

// Started reports whether this process started the server (and so should
// stop it).
func (c *Cluster) Started() bool { return c.started }

// URL is the connection string for database name on this cluster.
func (c *Cluster) URL(name string) string {
	q := url.Values{}
	q.Set("host", c.dir)
	q.Set("sslmode", "disable")
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + name, RawQuery: q.Encode()}).String()
}

// Start creates the cluster on first use and starts the server unless one
// is already running on this data directory (then it is reused, and Stop
// leaves it alone).
func (c *Cluster) Start(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return err
		}
	}
	if c.running(ctx) {
		return nil
	}
	// A crashed server can leave its pid file behind; pg_ctl handles that.
	args := []string{"start", "-D", c.dir, "-w", "-t", "60", "-l", filepath.Join(c.dir, "server.log"), "-o", c.serverOptions()}
	if out, err := c.run(ctx, "pg_ctl", args...); err != nil {
		return fmt.Errorf("start PostgreSQL in %s: %w: %s (see %s)", c.dir, err, lastLine(out), filepath.Join(c.dir, "server.log"))
	}
	c.started = true
	return nil
}

// Stop stops the server if this process started it. It is safe to call
// more than once.
func (c *Cluster) Stop() error {
	if !c.started {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.run(ctx, "pg_ctl", "stop", "-D", c.dir, "-m", "fast", "-w", "-t", "55")
	if err != nil && c.running(ctx) {
		return fmt.Errorf("stop PostgreSQL: %w: %s", err, lastLine(out))
	}
	c.started = false
	return nil
}

// Remove deletes the cluster's files (the server must be stopped).
func (c *Cluster) Remove() error { return os.RemoveAll(c.dir) }

func (c *Cluster) serverOptions() string {
	maxConn := c.opts.MaxConnections
	if maxConn == 0 {
		maxConn = 200
	}
	settings := map[string]string{
		"listen_addresses":        "''",
		"unix_socket_directories": "'" + c.dir + "'",
		"max_connections":         strconv.Itoa(maxConn),
	}
	if !c.opts.Durable {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range c.opts.ExtraSettings {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, "-c "+k+"="+settings[k])
	}
	return strings.Join(parts, " ")
}

func (c *Cluster) initdb(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(c.dir), 0o755); err != nil {
		return fmt.Errorf("create cluster dir: %w", err)
	}
	if err := os.Mkdir(c.dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create cluster dir: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("hand cluster dir to postgres user: %w", err)
		}
	}
	// trust is safe here: the server listens on no TCP port, and its socket
	// sits in a 0700 directory only its owner (and root) can enter.
	out, err := c.run(ctx, "initdb", "-D", c.dir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions")
	if err != nil {
		_ = os.RemoveAll(c.dir)
		return fmt.Errorf("initdb in %s: %w: %s", c.dir, err, lastLine(out))
	}
	return nil
}

func (c *Cluster) running(ctx context.Context) bool {
	_, err := c.run(ctx, "pg_ctl", "status", "-D", c.dir)
	return err == nil
}

func (c *Cluster) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, prog), args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C"}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}

// findBinDir locates initdb/pg_ctl/postgres: pg_config first, then the
// newest /usr/lib/postgresql/*/bin.
func findBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return majorOf(versions[i]) > majorOf(versions[j]) })
	candidates = append(candidates, versions...)
	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, but there is no \"postgres\" system user to run the embedded PostgreSQL as: install PostgreSQL (apt-get install postgresql) or set DATABASE_URL")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// reachable reports whether cred may traverse every directory down to dir.
func reachable(dir string, cred *syscall.Credential) bool {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return false
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		mode := st.Mode().Perm()
		switch {
		case sys.Uid == cred.Uid:
			if mode&0o100 == 0 {
				return false
			}
		case sys.Gid == cred.Gid:
			if mode&0o010 == 0 {
				return false
			}
		default:
			if mode&0o001 == 0 {
				return false
			}
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Adopt makes this process responsible for stopping the server even when
// it found it already running (say, left behind by a crash): serve owns
// the cluster of its data dir.
func (c *Cluster) Adopt() { c.started = true }
