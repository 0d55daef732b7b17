package db_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"extcron/db"
)

func TestInstallRepositoryIsTenantScoped(t *testing.T) {
	t.Parallel()
	ctx, conn, v := registryFixture(t)
	tenantA, tenantB := uuid.New(), uuid.New()
	for i, id := range []uuid.UUID{tenantA, tenantB} {
		if _, err := conn.ExecContext(ctx, `INSERT INTO tenant (id, name) VALUES ($1, $2)`, id, []string{"a", "b"}[i]); err != nil {
			t.Fatal(err)
		}
	}
	in := db.Install{TenantID: tenantA, ID: uuid.New(), ExtensionID: v.ExtensionID, VersionID: v.ID, Enabled: true,
		Config: db.InstallConfig{"region": "eu"}}
	if err := db.InsertInstall(ctx, conn, in); err != nil {
		t.Fatal(err)
	}
	dup := in
	dup.ID = uuid.New()
	if err := db.InsertInstall(ctx, conn, dup); !errors.Is(err, db.ErrAlreadyInstalled) {
		t.Errorf("second install: %v, want ErrAlreadyInstalled", err)
	}

	got, err := db.FindInstallByExtension(ctx, conn, tenantA, v.ExtensionID, false)
	if err != nil || got.ID != in.ID || got.Config["region"] != "eu" || got.Slug != "acme.x" || got.Version != "1.0.0" {
		t.Fatalf("find = %+v, %v", got, err)
	}
	if _, err := db.FindInstall(ctx, conn, tenantB, in.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("tenant B find: %v, want ErrNotFound", err)
	}
	if err := db.SetInstallEnabled(ctx, conn, tenantB, in.ID, false); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("tenant B update: %v, want ErrNotFound", err)
	}
	if _, err := db.DeleteInstall(ctx, conn, tenantB, in.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("tenant B delete: %v, want ErrNotFound", err)
	}
	if list, err := db.ListInstalls(ctx, conn, tenantB); err != nil || len(list) != 0 {
		t.Errorf("tenant B list = %v, %v", list, err)
	}
	if err := db.UpdateInstallConfig(ctx, conn, tenantA, in.ID, db.InstallConfig{"region": "us"}); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateInstallSecrets(ctx, conn, tenantA, in.ID, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	ct, err := db.FindInstallSecrets(ctx, conn, tenantA, in.ID)
	if err != nil || len(ct) != 3 {
		t.Errorf("secrets = %v, %v", ct, err)
	}
	list, err := db.ListInstalls(ctx, conn, tenantA)
	if err != nil || len(list) != 1 || list[0].Config["region"] != "us" {
		t.Errorf("tenant A list = %+v, %v", list, err)
	}
}
