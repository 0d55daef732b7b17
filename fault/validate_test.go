package fault_test

import (
	"reflect"
	"testing"

	"extcron/account"
	"extcron/fault"
	"extcron/schedule"
)

type sample struct {
	Mode  string  `json:"mode" validate:"oneof=a b" msg:"Mode must be a or b."`
	Count *int    `json:"count,omitempty" validate:"omitnil,min=1,max=3" msg:"Count must be from 1 to 3."`
	Plain string  `validate:"max=2"`
	Note  *string `json:"note"`
}

func TestRulesKeyFailuresByJSONNameWithTheFieldsMessage(t *testing.T) {
	rules := fault.NewRules()
	four := 4
	cases := []struct {
		name string
		in   any
		want map[string]string
	}{
		{"valid", sample{Mode: "a"}, map[string]string{}},
		{"pointer to a bad value", &sample{Mode: "b", Count: new(int)}, map[string]string{"count": "Count must be from 1 to 3."}},
		{"bad enum", sample{Mode: "c"}, map[string]string{"mode": "Mode must be a or b."}},
		{"several", sample{Mode: "", Count: &four, Plain: "xyz"}, map[string]string{
			"mode": "Mode must be a or b.", "count": "Count must be from 1 to 3.",
			// No msg tag: a generic message, under the Go name (no json tag).
			"Plain": "This value is not valid."}},
	}
	for _, tc := range cases {
		fields := fault.Fields{}
		rules.Check(tc.in, fields)
		if !reflect.DeepEqual(map[string]string(fields), tc.want) {
			t.Errorf("%s: fields = %v, want %v", tc.name, fields, tc.want)
		}
	}
}

func TestRulesKeepAnEarlierMessage(t *testing.T) {
	fields := fault.Fields{"mode": "first"}
	fault.NewRules().Check(sample{Mode: "z"}, fields)
	if fields["mode"] != "first" {
		t.Errorf("mode = %q, want the earlier message kept", fields["mode"])
	}
}

// Every input checked by the rules says what is wrong in its own words:
// a validate tag without a msg would show users the generic message.
func TestEveryRuleHasAMessage(t *testing.T) {
	for _, v := range []any{schedule.Input{}, schedule.RunQuery{}, schedule.PreviewInput{}, account.NewUser{}} {
		typ := reflect.TypeOf(v)
		rules := 0
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Tag.Get("validate") == "" {
				continue
			}
			rules++
			if f.Tag.Get("msg") == "" {
				t.Errorf("%s.%s has validate:%q but no msg", typ.Name(), f.Name, f.Tag.Get("validate"))
			}
			if f.Tag.Get("json") == "" {
				t.Errorf("%s.%s has a rule but no json name to report it under", typ.Name(), f.Name)
			}
		}
		if rules == 0 {
			t.Errorf("%s has no rules; drop it from this list", typ.Name())
		}
	}
}
