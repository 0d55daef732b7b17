// Command extcron is the whole product in one binary: the web app, the
// scheduler, the embedded runner, and the admin commands that share their
// configuration.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const usage = `extcron schedules the API endpoints of installed extensions.

Usage:
  extcron [serve]                 web app, scheduler and embedded runner (default)
  extcron migrate                 apply database migrations
  extcron tenant create           create a tenant
  extcron user create             create a user
  extcron token create            create an API token for a user
  extcron registry publish PATH   publish an extension bundle (directory or .zip)
  extcron registry backfill       materialize endpoints of versions that lack them
  extcron runner --addr ADDR      run the embedded runner alone
  extcron demo                    seed the demo tenant, users and extensions

Every command reads the same environment as serve (see README.md), so it
finds the embedded database of the same EXTCRON_DATA_DIR. Run
"extcron COMMAND --help" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) > 0 && (cmd == "tenant" || cmd == "user" || cmd == "token" || cmd == "registry") && !strings.HasPrefix(args[0], "-") {
		cmd, args = cmd+" "+args[0], args[1:]
	}
	c, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "extcron: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet("extcron "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := c.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: extcron %s %s\n\n%s\n", cmd, c.args, c.help)
		fs.PrintDefaults()
	}
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(stderr, "extcron: invalid configuration:", err)
		return 2
	}
	logger := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.run(ctx, env{cfg: cfg, logger: logger, stdout: stdout, args: fs.Args()}, opts); err != nil {
		fmt.Fprintln(stderr, "extcron:", describeError(err))
		return 1
	}
	return 0
}

// env is what every command receives.
type env struct {
	cfg    config
	logger *slog.Logger
	stdout io.Writer
	args   []string
}

type command struct {
	args  string
	help  string
	flags func(fs *flag.FlagSet) any
	run   func(ctx context.Context, e env, opts any) error
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	hopts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

// withTimeout bounds one-shot commands.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 5*time.Minute)
}
