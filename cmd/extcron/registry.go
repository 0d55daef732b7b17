package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"extcron/db"
	"extcron/runner"
)

func init() {
	commands["registry publish"] = command{
		args:  "PATH",
		help:  "Publish an extension bundle (a directory or a .zip holding manifest.json and the module) and print the version id on the last line.",
		flags: func(fs *flag.FlagSet) any { return nil },
		run: func(ctx context.Context, e env, _ any) error {
			if len(e.args) != 1 {
				return errors.New("registry publish needs exactly one PATH (a bundle directory or .zip)")
			}
			return withServices(ctx, e, func(ctx context.Context, s *services) error {
				res, err := s.registry.PublishPath(ctx, e.args[0])
				if err != nil {
					return err
				}
				for _, w := range res.Warnings {
					fmt.Fprintln(e.stdout, "warning:", w)
				}
				state := "published"
				if res.AlreadyPublished {
					state = "already published (same content)"
				}
				fmt.Fprintf(e.stdout, "%s %s %s with %d endpoint(s)\n%s\n", state, res.Extension.Slug, res.Version.Version, len(res.Endpoints), res.Version.ID)
				return nil
			})
		},
	}
	commands["registry backfill"] = command{
		help:  "Materialize the endpoints of every published version that has none.",
		flags: func(fs *flag.FlagSet) any { return nil },
		run: func(ctx context.Context, e env, _ any) error {
			return withServices(ctx, e, func(ctx context.Context, s *services) error {
				results, err := s.registry.BackfillAllMissing(ctx)
				if err != nil {
					return err
				}
				for _, r := range results {
					fmt.Fprintf(e.stdout, "%+v\n", r)
				}
				fmt.Fprintf(e.stdout, "backfilled %d version(s)\n", len(results))
				return nil
			})
		},
	}
	commands["runner"] = command{
		args: "--addr ADDR",
		help: "Serve the embedded WebAssembly runner's POST /v1/execute alone, reading modules from the registry database; point RUNNER_URL of other processes at it.",
		flags: func(fs *flag.FlagSet) any {
			addr := new(string)
			fs.StringVar(addr, "addr", "127.0.0.1:8090", "address to listen on")
			return addr
		},
		run: func(ctx context.Context, e env, opts any) error {
			addr := opts.(*string)
			return withServicesFor(ctx, e, func(ctx context.Context, s *services) error {
				emb := runner.NewEmbedded(s.moduleStore, e.logger.With("component", "runner"))
				fmt.Fprintf(e.stdout, "runner listening on %s\n", *addr)
				err := emb.Serve(ctx, *addr)
				if errors.Is(err, context.Canceled) {
					return nil
				}
				return err
			})
		},
	}
}

// withServicesFor is withServices without the one-shot command timeout,
// for long-running commands.
func withServicesFor(ctx context.Context, e env, fn func(ctx context.Context, s *services) error) error {
	d, err := openDatabase(ctx, e.cfg, e.logger, false)
	if err != nil {
		return err
	}
	defer d.close()
	if _, err := db.Migrate(ctx, d.conn); err != nil {
		return err
	}
	s, err := newServices(e, d)
	if err != nil {
		return err
	}
	return fn(ctx, s)
}
