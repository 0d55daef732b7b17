package fault

import (
	"errors"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
)

// Rules checks the declarative rules of an input struct: ranges, lengths
// and allowed values, written as `validate` tags (go-playground/validator)
// beside a `msg` tag holding the one user-facing message of that field.
// Rules that need data or a parser (an endpoint of the installed version, a
// cron expression, a time zone) stay in the services.
//
// Field errors are keyed by the field's JSON name, the name API clients
// send and pages use for their inputs.
type Rules struct {
	v *validator.Validate
}

// NewRules builds the checker. It caches what it learns of each struct
// type, so a service builds one and keeps it.
func NewRules() *Rules {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(jsonName)
	return &Rules{v: v}
}

// Check validates in (a struct or a pointer to one) and adds one message
// per failing field to fields. Anything but a struct is a programming
// error and panics.
func (r *Rules) Check(in any, fields Fields) {
	err := r.v.Struct(in)
	var failures validator.ValidationErrors
	if !errors.As(err, &failures) {
		if err != nil {
			panic("fault: " + err.Error())
		}
		return
	}
	t := reflect.TypeOf(in)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for _, fe := range failures {
		msg := "This value is not valid."
		if f, ok := t.FieldByName(fe.StructField()); ok && f.Tag.Get("msg") != "" {
			msg = f.Tag.Get("msg")
		}
		fields.Add(fe.Field(), msg)
	}
}

// jsonName is the field's name in JSON, or its Go name when it has none.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" || name == "-" {
		return f.Name
	}
	return name
}
