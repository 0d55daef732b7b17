// Package account manages tenants, users, API tokens and web sessions:
// who may sign in, and who a request acts as.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"extcron/db"
	"extcron/fault"
)

// SessionLifetime is how long a web session lasts without a new login.
const SessionLifetime = 12 * time.Hour

// ZoneCheck validates an IANA time-zone name, returning a user-facing
// error message or "".
type ZoneCheck func(name string) string

// Service is the account service.
type Service struct {
	conn      *sqlx.DB
	checkZone ZoneCheck
	rules     *fault.Rules
	logger    *slog.Logger
	now       func() time.Time
}

// NewService builds the account service.
func NewService(conn *sqlx.DB, checkZone ZoneCheck, logger *slog.Logger) *Service {
	return &Service{conn: conn, checkZone: checkZone, rules: fault.NewRules(), logger: logger, now: time.Now}
}

// newTenant holds the rules of a tenant's fields.
type newTenant struct {
	Name string `json:"name" validate:"required,max=128" msg:"Name is required (at most 128 characters)."`
}

// CreateTenant creates a tenant with an optional default time zone.
func (s *Service) CreateTenant(ctx context.Context, name, timezone string) (db.Tenant, error) {
	name = strings.TrimSpace(name)
	timezone = strings.TrimSpace(timezone)
	fields := fault.Fields{}
	s.rules.Check(newTenant{Name: name}, fields)
	var tz *string
	if timezone != "" {
		if msg := s.checkZone(timezone); msg != "" {
			fields.Add("timezone", msg)
		}
		tz = &timezone
	}
	if err := fields.Err(); err != nil {
		return db.Tenant{}, err
	}
	t := db.Tenant{ID: uuid.New(), Name: name, DefaultTimezone: tz}
	err := db.InsertTenant(ctx, s.conn, t)
	if errors.Is(err, db.ErrDuplicate) {
		return db.Tenant{}, &fault.Error{Code: fault.Conflict, Message: "A tenant with this name exists.", Fields: map[string]string{"name": "A tenant named " + name + " already exists."}}
	}
	if err != nil {
		return db.Tenant{}, err
	}
	return db.FindTenant(ctx, s.conn, t.ID)
}

// NewUser describes a user to create.
type NewUser struct {
	Tenant   string `json:"tenant"` // tenant id or name
	Email    string `json:"email" validate:"required,email" msg:"Enter a valid email address."`
	Password string `json:"password" validate:"min=8,max=72" msg:"Password must be 8 to 72 characters."`
	Name     string `json:"name"`
	Role     string `json:"role" validate:"oneof=admin viewer" msg:"Role must be admin or viewer."`
	Operator bool   `json:"operator"`
}

// CreateUser creates a user in a tenant.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (db.User, error) {
	fields := fault.Fields{}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	in.Email = email
	s.rules.Check(in, fields)
	if len(in.Password) > 72 {
		// bcrypt reads 72 bytes at most; the rule above counts characters.
		fields.Add("password", "Password must be 8 to 72 characters.")
	}
	tenant, err := s.findTenant(ctx, in.Tenant)
	if err != nil {
		fields.Add("tenant", "No tenant "+in.Tenant+".")
	}
	if err := fields.Err(); err != nil {
		return db.User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcrypt.DefaultCost)
	if err != nil {
		return db.User{}, fmt.Errorf("hash password: %w", err)
	}
	u := db.User{TenantID: tenant.ID, ID: uuid.New(), Email: email, PasswordHash: string(hash),
		DisplayName: strings.TrimSpace(in.Name), Role: in.Role, IsOperator: in.Operator}
	err = db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error { return db.InsertUser(ctx, tx, u) })
	if errors.Is(err, db.ErrDuplicate) {
		return db.User{}, &fault.Error{Code: fault.Conflict, Message: "This email is taken.", Fields: map[string]string{"email": "A user with this email already exists."}}
	}
	if err != nil {
		return db.User{}, err
	}
	return db.FindUser(ctx, s.conn, u.TenantID, u.ID)
}

func (s *Service) findTenant(ctx context.Context, ref string) (db.Tenant, error) {
	if id, err := uuid.Parse(ref); err == nil {
		return db.FindTenant(ctx, s.conn, id)
	}
	return db.FindTenantByName(ctx, s.conn, ref)
}

// CreateToken issues a new API token for the user with this email. The
// token is returned once; only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, email string) (string, error) {
	u, err := db.FindUserByEmail(ctx, s.conn, email)
	if errors.Is(err, db.ErrNotFound) {
		return "", &fault.Error{Code: fault.NotFound, Message: "No user with this email.", Fields: map[string]string{"email": "No user with this email."}}
	}
	if err != nil {
		return "", err
	}
	secret := randomString(32)
	token := "ext_" + strings.ReplaceAll(u.TenantID.String(), "-", "") + "_" + secret
	if err := db.InsertToken(ctx, s.conn, u.TenantID, uuid.New(), u.ID, hashOf(token)); err != nil {
		return "", err
	}
	return token, nil
}

// ActorForToken resolves a bearer token to its actor.
func (s *Service) ActorForToken(ctx context.Context, token string) (Actor, error) {
	unauth := fault.New(fault.Unauthenticated, "The API token is not valid.")
	rest, ok := strings.CutPrefix(token, "ext_")
	if !ok {
		return Actor{}, unauth
	}
	tenantHex, _, ok := strings.Cut(rest, "_")
	tenantID, err := uuid.Parse(tenantHex)
	if !ok || err != nil {
		return Actor{}, unauth
	}
	u, err := db.FindUserByToken(ctx, s.conn, tenantID, hashOf(token))
	if errors.Is(err, db.ErrNotFound) {
		return Actor{}, unauth
	}
	if err != nil {
		return Actor{}, err
	}
	return actorOf(u), nil
}

// Login checks an email and password and opens a new session. It returns
// the session cookie value. A wrong email and a wrong password fail the
// same way and take the same time.
func (s *Service) Login(ctx context.Context, email, password string) (string, error) {
	bad := &fault.Error{Code: fault.Unauthenticated, Message: "Email or password is incorrect."}
	u, err := db.FindUserByEmail(ctx, s.conn, email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return "", err
	}
	hash := []byte(u.PasswordHash)
	if errors.Is(err, db.ErrNotFound) {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || errors.Is(err, db.ErrNotFound) {
		return "", bad
	}
	secret := randomString(32)
	sess := db.Session{TenantID: u.TenantID, IDHash: hashOf(secret), UserID: u.ID,
		CSRFToken: randomString(32), ExpiresAt: s.now().Add(SessionLifetime)}
	if err := db.InsertSession(ctx, s.conn, sess); err != nil {
		return "", err
	}
	return u.TenantID.String() + "." + secret, nil
}

// dummyHash keeps a login for an unknown email as slow as a real one.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a real password"), bcrypt.DefaultCost)

// SessionInfo is what a request learns from its session cookie.
type SessionInfo struct {
	Actor     Actor
	CSRFToken string
}

// Session resolves a session cookie value.
func (s *Service) Session(ctx context.Context, cookie string) (SessionInfo, error) {
	unauth := fault.New(fault.Unauthenticated, "Please sign in.")
	tenantPart, secret, ok := strings.Cut(cookie, ".")
	tenantID, err := uuid.Parse(tenantPart)
	if !ok || err != nil || secret == "" {
		return SessionInfo{}, unauth
	}
	sess, err := db.FindSession(ctx, s.conn, tenantID, hashOf(secret), s.now())
	if errors.Is(err, db.ErrNotFound) {
		return SessionInfo{}, unauth
	}
	if err != nil {
		return SessionInfo{}, err
	}
	u, err := db.FindUser(ctx, s.conn, sess.TenantID, sess.UserID)
	if err != nil {
		return SessionInfo{}, err
	}
	return SessionInfo{Actor: actorOf(u), CSRFToken: sess.CSRFToken}, nil
}

// Logout ends a session; an unknown cookie is not an error.
func (s *Service) Logout(ctx context.Context, cookie string) error {
	tenantPart, secret, _ := strings.Cut(cookie, ".")
	tenantID, err := uuid.Parse(tenantPart)
	if err != nil {
		return nil
	}
	return db.DeleteSession(ctx, s.conn, tenantID, hashOf(secret))
}

// SetTimezone sets the actor's profile zone; "" clears it.
func (s *Service) SetTimezone(ctx context.Context, actor Actor, timezone string) error {
	timezone = strings.TrimSpace(timezone)
	var tz *string
	if timezone != "" {
		if msg := s.checkZone(timezone); msg != "" {
			return &fault.Error{Code: fault.Invalid, Message: "The time zone is not valid.", Fields: map[string]string{"timezone": msg}}
		}
		tz = &timezone
	}
	return db.WithTx(ctx, s.conn, func(tx *sqlx.Tx) error {
		if err := db.UpdateUserTimezone(ctx, tx, actor.TenantID, actor.UserID, tz); err != nil {
			return err
		}
		return db.InsertAudit(ctx, tx, db.Audit{TenantID: actor.TenantID, ActorID: &actor.UserID, Actor: actor.Label(),
			Action: "user.timezone", TargetType: "user", TargetID: actor.UserID.String(),
			Before: map[string]string{"timezone": actor.Timezone}, After: map[string]string{"timezone": timezone}})
	})
}

// Tenant loads the actor's tenant.
func (s *Service) Tenant(ctx context.Context, actor Actor) (db.Tenant, error) {
	return db.FindTenant(ctx, s.conn, actor.TenantID)
}

// CheckCSRF compares a submitted CSRF token with the session's in constant time.
func CheckCSRF(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func actorOf(u db.User) Actor {
	a := Actor{TenantID: u.TenantID, UserID: u.ID, Email: u.Email, Role: u.Role, Operator: u.IsOperator}
	if u.Timezone != nil {
		a.Timezone = *u.Timezone
	}
	return a
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// FindUserByEmail loads a user by login email.
func (s *Service) FindUserByEmail(ctx context.Context, email string) (db.User, error) {
	return db.FindUserByEmail(ctx, s.conn, email)
}

// DB is the service's connection, for commands that seed data.
func (s *Service) DB() *sqlx.DB { return s.conn }
