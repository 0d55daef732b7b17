package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"extcron/egress"
)

// config is extcron's configuration, read once from the environment.
type config struct {
	Addr                string
	DatabaseURL         string
	DataDir             string
	RunnerURL           string
	RunnerTimeout       time.Duration
	RunnerMaxResponse   int64
	MinInterval         time.Duration
	SecretKey           string
	Scheduler           bool
	Workers             int
	MaxPayloadBytes     int
	MaxPerInstall       int
	MaxPerTenant        int
	TenantConcurrency   int
	RetentionRuns       int
	RetentionAge        time.Duration
	SecureCookies       bool
	LogFormat           string
	LogLevel            string
	LoginAttemptsPerMin int
	RunnerMaxModules    int
	RunNowPerTenant     int
	RunNowInterval      time.Duration
	Egress              egress.Policy
}

// envVar documents one variable: the README's configuration table is
// written from the same facts.
type envVar struct {
	name, def, help string
}

var envVars = []envVar{
	{"EXTCRON_ADDR", ":8080", "address the web server listens on"},
	{"DATABASE_URL", "", "PostgreSQL URL; unset runs a private cluster under EXTCRON_DATA_DIR"},
	{"EXTCRON_DATA_DIR", "./.extcron", "embedded PostgreSQL cluster and generated secret key"},
	{"RUNNER_URL", "", "base URL of the Runner; unset uses the embedded WebAssembly runner"},
	{"EXTCRON_RUNNER_TIMEOUT_MS", "30000", "deadline of one runner call"},
	{"EXTCRON_RUNNER_MAX_RESPONSE_BYTES", "262144", "largest runner response accepted"},
	{"EXTCRON_RUNNER_MAX_MODULES", "16", "compiled extension modules the embedded runner keeps in memory"},
	{"EXTCRON_MIN_INTERVAL", "5m", "shortest allowed gap between two firings of a schedule"},
	{"EXTCRON_SECRET_KEY", "", "encrypts install secrets; generated into the data dir when unset"},
	{"EXTCRON_SCHEDULER", "on", "on/off: run the scheduler in this process"},
	{"EXTCRON_WORKERS", "64", "concurrent runner calls per process"},
	{"EXTCRON_MAX_PAYLOAD_BYTES", "100000", "largest schedule payload"},
	{"EXTCRON_MAX_SCHEDULES_PER_INSTALL", "50", "schedules per installed extension"},
	{"EXTCRON_MAX_SCHEDULES_PER_TENANT", "500", "schedules per tenant"},
	{"EXTCRON_TENANT_CONCURRENCY", "10", "concurrent runs per tenant"},
	{"EXTCRON_RUN_NOW_PER_TENANT", "5", "manual runs a tenant may start per minute"},
	{"EXTCRON_RUN_NOW_INTERVAL", "10s", "shortest gap between two manual runs of one schedule"},
	{"EXTCRON_RUN_RETENTION", "1000", "runs kept per schedule"},
	{"EXTCRON_RUN_RETENTION_AGE", "2160h", "age after which runs are pruned (90 days)"},
	{"EXTCRON_SECURE_COOKIES", "false", "mark cookies Secure (serve behind TLS)"},
	{"EXTCRON_LOG_FORMAT", "text", "text or json"},
	{"EXTCRON_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"EXTCRON_LOGIN_ATTEMPTS_PER_MINUTE", "10", "failed sign-ins allowed per client and email per minute"},
	{"EXTCRON_EGRESS_ALLOW", "", "host:port pairs (comma-separated) that extension fetches and alert webhooks may reach although their address is private or loopback"},
}

// loadConfig reads and validates the environment. Its error names the
// variable and what it accepts, in one line.
func loadConfig() (config, error) {
	get := func(name string) string {
		if v, ok := os.LookupEnv(name); ok {
			return strings.TrimSpace(v)
		}
		for _, e := range envVars {
			if e.name == name {
				return e.def
			}
		}
		return ""
	}
	var c config
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %s", name, fmt.Sprintf(format, args...)))
	}
	intVar := func(name string, min, max int) int {
		n, err := strconv.Atoi(get(name))
		if err != nil || n < min || n > max {
			fail(name, "must be a whole number from %d to %d, got %q", min, max, get(name))
		}
		return n
	}
	durVar := func(name string, min, max time.Duration) time.Duration {
		d, err := time.ParseDuration(get(name))
		if err != nil || d < min || d > max {
			fail(name, "must be a duration from %s to %s such as 5m, got %q", min, max, get(name))
		}
		return d
	}
	boolVar := func(name string, on, off string) bool {
		switch strings.ToLower(get(name)) {
		case on, "true", "1", "yes":
			return true
		case off, "false", "0", "no":
			return false
		}
		fail(name, "must be %s or %s, got %q", on, off, get(name))
		return false
	}

	c.Addr = get("EXTCRON_ADDR")
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		fail("EXTCRON_ADDR", "must be host:port or :port, got %q", c.Addr)
	}
	c.DatabaseURL = get("DATABASE_URL")
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			fail("DATABASE_URL", "must be a postgres:// URL")
		}
	}
	c.DataDir = get("EXTCRON_DATA_DIR")
	if c.DataDir == "" {
		fail("EXTCRON_DATA_DIR", "must not be empty")
	}
	c.RunnerURL = strings.TrimRight(get("RUNNER_URL"), "/")
	if c.RunnerURL != "" {
		if u, err := url.Parse(c.RunnerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail("RUNNER_URL", "must be an http(s) URL such as http://runner:8090, got %q", c.RunnerURL)
		}
	}
	c.RunnerTimeout = time.Duration(intVar("EXTCRON_RUNNER_TIMEOUT_MS", 100, 3_600_000)) * time.Millisecond
	c.RunnerMaxResponse = int64(intVar("EXTCRON_RUNNER_MAX_RESPONSE_BYTES", 1024, 64<<20))
	c.RunnerMaxModules = intVar("EXTCRON_RUNNER_MAX_MODULES", 1, 4096)
	c.MinInterval = durVar("EXTCRON_MIN_INTERVAL", time.Minute, 24*time.Hour)
	c.SecretKey = get("EXTCRON_SECRET_KEY")
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		fail("EXTCRON_SECRET_KEY", "must be at least 32 characters")
	}
	c.Scheduler = boolVar("EXTCRON_SCHEDULER", "on", "off")
	c.Workers = intVar("EXTCRON_WORKERS", 1, 4096)
	c.MaxPayloadBytes = intVar("EXTCRON_MAX_PAYLOAD_BYTES", 2, 1<<20)
	c.MaxPerInstall = intVar("EXTCRON_MAX_SCHEDULES_PER_INSTALL", 1, 100_000)
	c.MaxPerTenant = intVar("EXTCRON_MAX_SCHEDULES_PER_TENANT", 1, 10_000_000)
	c.TenantConcurrency = intVar("EXTCRON_TENANT_CONCURRENCY", 1, 4096)
	c.RunNowPerTenant = intVar("EXTCRON_RUN_NOW_PER_TENANT", 1, 100_000)
	c.RunNowInterval = durVar("EXTCRON_RUN_NOW_INTERVAL", 0, time.Hour)
	c.RetentionRuns = intVar("EXTCRON_RUN_RETENTION", 1, 1_000_000)
	c.RetentionAge = durVar("EXTCRON_RUN_RETENTION_AGE", time.Hour, 10*365*24*time.Hour)
	c.SecureCookies = boolVar("EXTCRON_SECURE_COOKIES", "true", "false")
	c.LogFormat = get("EXTCRON_LOG_FORMAT")
	if c.LogFormat != "text" && c.LogFormat != "json" {
		fail("EXTCRON_LOG_FORMAT", "must be text or json, got %q", c.LogFormat)
	}
	c.LogLevel = strings.ToLower(get("EXTCRON_LOG_LEVEL"))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		fail("EXTCRON_LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	c.LoginAttemptsPerMin = intVar("EXTCRON_LOGIN_ATTEMPTS_PER_MINUTE", 1, 10_000)
	var err error
	if c.Egress, err = egress.ParseAllow(get("EXTCRON_EGRESS_ALLOW")); err != nil {
		fail("EXTCRON_EGRESS_ALLOW", "%v", err)
	}
	if len(errs) > 0 {
		return c, errs[0]
	}
	return c, nil
}

// secretKey returns EXTCRON_SECRET_KEY, or the key kept in the data dir,
// generating it on first use.
func (c config) secretKey() (string, error) {
	if c.SecretKey != "" {
		return c.SecretKey, nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return key, nil
}
