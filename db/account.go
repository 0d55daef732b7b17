package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// Tenant is one customer organization.
type Tenant struct {
	ID                 uuid.UUID `db:"id"`
	Name               string    `db:"name"`
	DefaultTimezone    *string   `db:"default_timezone"`
	SchedulesSuspended bool      `db:"schedules_suspended"`
	CreatedAt          time.Time `db:"created_at"`
}

// User is an admin or viewer of one tenant.
type User struct {
	TenantID     uuid.UUID `db:"tenant_id"`
	ID           uuid.UUID `db:"id"`
	Email        string    `db:"email"`
	PasswordHash string    `db:"password_hash"`
	DisplayName  string    `db:"display_name"`
	Timezone     *string   `db:"timezone"`
	Role         string    `db:"role"`
	IsOperator   bool      `db:"is_operator"`
	CreatedAt    time.Time `db:"created_at"`
	UpdatedAt    time.Time `db:"updated_at"`
}

// Session is a server-side web session.
type Session struct {
	TenantID  uuid.UUID `db:"tenant_id"`
	IDHash    []byte    `db:"id_hash"`
	UserID    uuid.UUID `db:"user_id"`
	CSRFToken string    `db:"csrf_token"`
	ExpiresAt time.Time `db:"expires_at"`
}

const userColumns = `tenant_id, id, email, password_hash, display_name, timezone, role, is_operator, created_at, updated_at`

// InsertTenant creates a tenant.
func InsertTenant(ctx context.Context, q Queryer, t Tenant) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO tenant (id, name, default_timezone) VALUES ($1, $2, $3)`,
		t.ID, t.Name, t.DefaultTimezone)
	if isUniqueViolation(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("insert tenant: %w", err)
	}
	return nil
}

// FindTenant loads a tenant by id.
func FindTenant(ctx context.Context, q Queryer, id uuid.UUID) (Tenant, error) {
	var t Tenant
	err := q.GetContext(ctx, &t, `
		SELECT id, name, default_timezone, schedules_suspended, created_at
		FROM tenant WHERE id = $1`, id)
	return t, notFound(err)
}

// FindTenantByName loads a tenant by its unique name.
func FindTenantByName(ctx context.Context, q Queryer, name string) (Tenant, error) {
	var t Tenant
	err := q.GetContext(ctx, &t, `
		SELECT id, name, default_timezone, schedules_suspended, created_at
		FROM tenant WHERE name = $1`, name)
	return t, notFound(err)
}

// ListTenants returns every tenant, by name (operator pages).
func ListTenants(ctx context.Context, q Queryer) ([]Tenant, error) {
	var ts []Tenant
	err := q.SelectContext(ctx, &ts, `
		SELECT id, name, default_timezone, schedules_suspended, created_at
		FROM tenant ORDER BY name`)
	return ts, err
}

// InsertUser creates a user and claims its email platform-wide. It
// returns ErrDuplicate when the email is taken.
func InsertUser(ctx context.Context, q Queryer, u User) error {
	email := strings.ToLower(strings.TrimSpace(u.Email))
	_, err := q.ExecContext(ctx, `
		INSERT INTO app_user (tenant_id, id, email, password_hash, display_name, timezone, role, is_operator)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.TenantID, u.ID, email, u.PasswordHash, u.DisplayName, u.Timezone, u.Role, u.IsOperator)
	if isUniqueViolation(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	_, err = q.ExecContext(ctx, `
		INSERT INTO user_login (email, tenant_id, user_id) VALUES ($1, $2, $3)`, email, u.TenantID, u.ID)
	if isUniqueViolation(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("insert user login: %w", err)
	}
	return nil
}

// FindUser loads a user of a tenant.
func FindUser(ctx context.Context, q Queryer, tenantID, id uuid.UUID) (User, error) {
	var u User
	err := q.GetContext(ctx, &u, `SELECT `+userColumns+` FROM app_user WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return u, notFound(err)
}

// FindUserByEmail resolves a login email to its user, whatever the tenant.
func FindUserByEmail(ctx context.Context, q Queryer, email string) (User, error) {
	var login struct {
		TenantID uuid.UUID `db:"tenant_id"`
		UserID   uuid.UUID `db:"user_id"`
	}
	err := q.GetContext(ctx, &login, `
		SELECT tenant_id, user_id FROM user_login WHERE email = $1`, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return User{}, notFound(err)
	}
	return FindUser(ctx, q, login.TenantID, login.UserID)
}

// UpdateUserTimezone sets (or clears, with nil) a user's profile zone.
func UpdateUserTimezone(ctx context.Context, q Queryer, tenantID, id uuid.UUID, tz *string) error {
	res, err := q.ExecContext(ctx, `
		UPDATE app_user SET timezone = $3, updated_at = now()
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, tz)
	if err != nil {
		return fmt.Errorf("update user timezone: %w", err)
	}
	return expectOne(res)
}

// InsertToken stores the hash of a new API token.
func InsertToken(ctx context.Context, q Queryer, tenantID, id, userID uuid.UUID, hash []byte) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO api_token (tenant_id, id, user_id, token_hash) VALUES ($1, $2, $3, $4)`,
		tenantID, id, userID, hash)
	if err != nil {
		return fmt.Errorf("insert api token: %w", err)
	}
	return nil
}

// FindUserByToken resolves a token hash of a tenant to its user and
// records the use.
func FindUserByToken(ctx context.Context, q Queryer, tenantID uuid.UUID, hash []byte) (User, error) {
	var userID uuid.UUID
	err := q.GetContext(ctx, &userID, `
		UPDATE api_token SET last_used_at = now()
		WHERE tenant_id = $1 AND token_hash = $2
		RETURNING user_id`, tenantID, hash)
	if err != nil {
		return User{}, notFound(err)
	}
	return FindUser(ctx, q, tenantID, userID)
}

// InsertSession stores a new session.
func InsertSession(ctx context.Context, q Queryer, s Session) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO web_session (tenant_id, id_hash, user_id, csrf_token, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, s.TenantID, s.IDHash, s.UserID, s.CSRFToken, s.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// FindSession loads a live session.
func FindSession(ctx context.Context, q Queryer, tenantID uuid.UUID, idHash []byte, now time.Time) (Session, error) {
	var s Session
	err := q.GetContext(ctx, &s, `
		SELECT tenant_id, id_hash, user_id, csrf_token, expires_at
		FROM web_session
		WHERE tenant_id = $1 AND id_hash = $2 AND expires_at > $3`, tenantID, idHash, now)
	return s, notFound(err)
}

// DeleteSession removes a session (logout, rotation).
func DeleteSession(ctx context.Context, q Queryer, tenantID uuid.UUID, idHash []byte) error {
	_, err := q.ExecContext(ctx, `DELETE FROM web_session WHERE tenant_id = $1 AND id_hash = $2`, tenantID, idHash)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions prunes sessions that ended before now.
func DeleteExpiredSessions(ctx context.Context, q Queryer, now time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM web_session WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// ErrDuplicate is returned when a unique key is already taken.
var ErrDuplicate = fmt.Errorf("duplicate")

func isUniqueViolation(err error) bool {
	pqErr, ok := err.(*pq.Error)
	return ok && pqErr.Code == "23505"
}

type rowsAffected interface{ RowsAffected() (int64, error) }

func expectOne(res rowsAffected) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
