package account_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"extcron/account"
	"extcron/db/dbtest"
	"extcron/fault"
	"extcron/schedule"
)

// Bad input to tenant and user creation is refused field by field (the
// messages are the whole text users see), and nothing is written.
func TestCreateRefusesInvalidInputByField(t *testing.T) {
	d := dbtest.New(t)
	svc := account.NewService(d.DB, schedule.CheckZone, slog.New(slog.DiscardHandler))
	ctx := context.Background()

	tenantCases := []struct {
		name, tenant, zone string
		want               map[string]string
	}{
		{"blank name", "   ", "", map[string]string{"name": "Name is required (at most 128 characters)."}},
		{"long name", strings.Repeat("t", 129), "", map[string]string{"name": "Name is required (at most 128 characters)."}},
		{"unknown zone", "acme", "Mars/Base", map[string]string{"timezone": "Mars/Base"}},
	}
	for _, tc := range tenantCases {
		_, err := svc.CreateTenant(ctx, tc.tenant, tc.zone)
		checkFields(t, tc.name, err, tc.want)
	}
	tenant, err := svc.CreateTenant(ctx, "  acme ", "Europe/Berlin")
	if err != nil || tenant.Name != "acme" {
		t.Fatalf("valid tenant: %+v, %v", tenant, err)
	}

	valid := account.NewUser{Tenant: "acme", Email: " Ada@Example.test ", Password: "password-1", Role: account.RoleAdmin}
	userCases := []struct {
		name   string
		change func(*account.NewUser)
		want   map[string]string
	}{
		{"no email", func(u *account.NewUser) { u.Email = "" }, map[string]string{"email": "Enter a valid email address."}},
		{"not an email", func(u *account.NewUser) { u.Email = "ada.example.test" }, map[string]string{"email": "Enter a valid email address."}},
		{"short password", func(u *account.NewUser) { u.Password = "short" }, map[string]string{"password": "Password must be 8 to 72 characters."}},
		// 40 characters, 80 bytes: more than bcrypt reads.
		{"password over 72 bytes", func(u *account.NewUser) { u.Password = strings.Repeat("é", 40) }, map[string]string{"password": "Password must be 8 to 72 characters."}},
		{"bad role", func(u *account.NewUser) { u.Role = "owner" }, map[string]string{"role": "Role must be admin or viewer."}},
		{"unknown tenant", func(u *account.NewUser) { u.Tenant = "nope" }, map[string]string{"tenant": "No tenant nope."}},
		{"all at once", func(u *account.NewUser) { *u = account.NewUser{Tenant: "acme", Role: "x"} }, map[string]string{
			"email": "Enter a valid email address.", "password": "Password must be 8 to 72 characters.",
			"role": "Role must be admin or viewer."}},
	}
	for _, tc := range userCases {
		in := valid
		tc.change(&in)
		_, err := svc.CreateUser(ctx, in)
		checkFields(t, tc.name, err, tc.want)
	}
	var users int
	if err := d.DB.GetContext(ctx, &users, `SELECT count(*) FROM app_user`); err != nil {
		t.Fatal(err)
	}
	if users != 0 {
		t.Errorf("%d users written by invalid input", users)
	}
	u, err := svc.CreateUser(ctx, valid)
	if err != nil || u.Email != "ada@example.test" {
		t.Fatalf("valid user: %+v, %v", u, err)
	}
	var tenants int
	if err := d.DB.GetContext(ctx, &tenants, `SELECT count(*) FROM tenant`); err != nil {
		t.Fatal(err)
	}
	if tenants != 1 {
		t.Errorf("%d tenants, want only the valid one", tenants)
	}
}

func checkFields(t *testing.T, name string, err error, want map[string]string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != fault.Invalid {
		t.Errorf("%s: err = %v, want an invalid-input error", name, err)
		return
	}
	if len(fe.Fields) != len(want) {
		t.Errorf("%s: fields = %v, want %v", name, fe.Fields, want)
	}
	for field, msg := range want {
		if !strings.Contains(fe.Fields[field], msg) {
			t.Errorf("%s: %s = %q, want it to say %q", name, field, fe.Fields[field], msg)
		}
	}
}
