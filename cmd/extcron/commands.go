package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"

	"extcron/account"
	"extcron/db"
	"extcron/fault"
)

var commands = map[string]command{
	"serve": {
		help:  "Serve the web app and JSON API, run the scheduler and the embedded runner.",
		flags: func(fs *flag.FlagSet) any { return nil },
		run:   func(ctx context.Context, e env, _ any) error { return serve(ctx, e) },
	},
	"migrate": {
		help:  "Apply the database migrations embedded in this binary.",
		flags: func(fs *flag.FlagSet) any { return nil },
		run: func(ctx context.Context, e env, _ any) error {
			return withDB(ctx, e, func(ctx context.Context, d *database) error {
				applied, err := db.Migrate(ctx, d.conn)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "applied %d migration(s)\n", len(applied))
				return nil
			})
		},
	},
	"tenant create": {
		args: "--name NAME [--timezone TZ]",
		help: "Create a tenant and print its id on the last line.",
		flags: func(fs *flag.FlagSet) any {
			o := &struct{ name, tz string }{}
			fs.StringVar(&o.name, "name", "", "tenant name (required)")
			fs.StringVar(&o.tz, "timezone", "", "default IANA time zone of the tenant's schedules")
			return o
		},
		run: func(ctx context.Context, e env, opts any) error {
			o := opts.(*struct{ name, tz string })
			return withServices(ctx, e, func(ctx context.Context, s *services) error {
				t, err := s.accounts.CreateTenant(ctx, o.name, o.tz)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "created tenant %s\n%s\n", t.Name, t.ID)
				return nil
			})
		},
	},
	"user create": {
		args: "--tenant T --email E --password P --role admin|viewer [--operator]",
		help: "Create a user in a tenant (by id or name) and print its id on the last line.",
		flags: func(fs *flag.FlagSet) any {
			o := &account.NewUser{}
			fs.StringVar(&o.Tenant, "tenant", "", "tenant id or name (required)")
			fs.StringVar(&o.Email, "email", "", "login email (required)")
			fs.StringVar(&o.Password, "password", "", "password, 8 to 72 characters (required)")
			fs.StringVar(&o.Role, "role", "admin", "admin or viewer")
			fs.StringVar(&o.Name, "name", "", "display name")
			fs.BoolVar(&o.Operator, "operator", false, "grant the cross-tenant operator tools")
			return o
		},
		run: func(ctx context.Context, e env, opts any) error {
			o := opts.(*account.NewUser)
			return withServices(ctx, e, func(ctx context.Context, s *services) error {
				u, err := s.accounts.CreateUser(ctx, *o)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "created user %s\n%s\n", u.Email, u.ID)
				return nil
			})
		},
	},
	"token create": {
		args: "--email E",
		help: "Create an API token for a user and print it on the last line (it is shown only once).",
		flags: func(fs *flag.FlagSet) any {
			email := new(string)
			fs.StringVar(email, "email", "", "the user's email (required)")
			return email
		},
		run: func(ctx context.Context, e env, opts any) error {
			email := opts.(*string)
			return withServices(ctx, e, func(ctx context.Context, s *services) error {
				token, err := s.accounts.CreateToken(ctx, *email)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "created API token for %s (store it now; it is not shown again)\n%s\n", *email, token)
				return nil
			})
		},
	},
}

// withDB opens the database (starting the embedded cluster for the
// duration of the command when serve is not running) and closes it after.
func withDB(ctx context.Context, e env, fn func(ctx context.Context, d *database) error) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	d, err := openDatabase(ctx, e.cfg, e.logger, false)
	if err != nil {
		return err
	}
	defer d.close()
	return fn(ctx, d)
}

// withServices is withDB plus migrations and the services built on it.
func withServices(ctx context.Context, e env, fn func(ctx context.Context, s *services) error) error {
	return withDB(ctx, e, func(ctx context.Context, d *database) error {
		if _, err := db.Migrate(ctx, d.conn); err != nil {
			return err
		}
		s, err := newServices(e, d)
		if err != nil {
			return err
		}
		return fn(ctx, s)
	})
}

// describeError turns an error into one line for the terminal: domain
// errors with their field messages, others as they are.
func describeError(err error) string {
	e, ok := fault.As(err)
	if !ok {
		return err.Error()
	}
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, "--"+k+": "+e.Fields[k])
	}
	return strings.Join(parts, "; ")
}
