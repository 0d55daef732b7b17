package account

import (
	"github.com/google/uuid"

	"extcron/fault"
)

// Permission names one thing an actor may do inside its tenant.
type Permission string

// The permissions of SPEC §1.
const (
	ExtensionRead  Permission = "extension:read"
	ExtensionWrite Permission = "extension:write"
)

// Roles.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// Actor is who performs a request: a signed-in user or an API token's
// user. Services take it to check permissions and to write audit events.
type Actor struct {
	TenantID uuid.UUID
	UserID   uuid.UUID
	Email    string
	Role     string
	Operator bool
	// Timezone is the user's profile zone, "" when unset.
	Timezone string
}

// Can reports whether the actor holds perm in its own tenant. The operator
// flag grants nothing here.
func (a Actor) Can(perm Permission) bool {
	switch a.Role {
	case RoleAdmin:
		return perm == ExtensionRead || perm == ExtensionWrite
	case RoleViewer:
		return perm == ExtensionRead
	}
	return false
}

// Require returns a forbidden error unless the actor holds perm.
func (a Actor) Require(perm Permission) error {
	if !a.Can(perm) {
		return fault.New(fault.Forbidden, "You do not have the %s permission.", perm)
	}
	return nil
}

// RequireOperator returns a forbidden error unless the actor is an operator.
func (a Actor) RequireOperator() error {
	if !a.Operator {
		return fault.New(fault.Forbidden, "Only operators may do this.")
	}
	return nil
}

// Label is how the actor appears in the audit log.
func (a Actor) Label() string { return a.Email }
