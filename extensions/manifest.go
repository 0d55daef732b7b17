// Package extensions is the registry of published extensions (bundles,
// manifests, versions and their materialized API endpoints) and the
// per-tenant installs of them (config, sealed secrets, enable/disable,
// uninstall).
package extensions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"extcron/fault"
)

// Runtime is the only module runtime extcron executes.
const Runtime = "wasm32-wasip1"

// Limits on manifest contents; generous, but they keep a hostile manifest
// from bloating the registry or the settings page.
const (
	maxDisplayName   = 200
	maxDescription   = 4000
	maxModuleName    = 255
	maxCapabilities  = 64
	maxEndpoints     = 1000
	maxConfigKeys    = 200
	maxHandlerLength = 256
)

var (
	identRe      = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	capabilityRe = regexp.MustCompile(`^cap:[a-z0-9][a-z0-9._-]{0,127}$`)
	configKeyRe  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	// semverRe is the regular expression of semver.org 2.0.0: no leading
	// zeros in numeric identifiers, no "v" prefix, no shorthand.
	semverRe = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
		`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
		`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
)

// Manifest is the parsed, validated manifest.json of a bundle.
type Manifest struct {
	Publisher    string        `json:"publisher"`
	Name         string        `json:"name"`
	Version      string        `json:"version"`
	DisplayName  string        `json:"display_name"`
	Description  string        `json:"description"`
	Runtime      string        `json:"runtime"`
	Module       string        `json:"module"`
	Capabilities []string      `json:"capabilities"`
	API          ManifestAPI   `json:"api"`
	ConfigSchema *ConfigSchema `json:"config_schema,omitempty"`
}

// ManifestAPI is the api section of a manifest.
type ManifestAPI struct {
	Endpoints []ManifestEndpoint `json:"endpoints"`
}

// ManifestEndpoint is one api.endpoints entry exactly as declared; see
// MaterializeEndpoints for how it becomes a stored Endpoint.
type ManifestEndpoint struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Handler string `json:"handler"`
}

// ConfigSchema lists the settings an install offers.
type ConfigSchema struct {
	Keys []ConfigKey `json:"keys"`
}

// ConfigKey is one setting. Secret keys are write-only: their values are
// sealed at rest and never shown again.
type ConfigKey struct {
	Key         string `json:"key"`
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty"`
	Default     string `json:"default,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Secret      bool   `json:"secret,omitempty"`
}

// Slug is the extension's unique name, publisher.name.
func (m Manifest) Slug() string { return m.Publisher + "." + m.Name }

// Keys returns the config schema's keys (none when there is no schema).
func (m Manifest) Keys() []ConfigKey {
	if m.ConfigSchema == nil {
		return nil
	}
	return m.ConfigSchema.Keys
}

// Key finds a config key by name.
func (m Manifest) Key(name string) (ConfigKey, bool) {
	for _, k := range m.Keys() {
		if k.Key == name {
			return k, true
		}
	}
	return ConfigKey{}, false
}

// ValidSemver reports whether v is a strict semantic version
// (MAJOR.MINOR.PATCH with optional -prerelease and +build).
func ValidSemver(v string) bool { return semverRe.MatchString(v) }

// ParseManifest decodes and validates manifest.json. A validation failure
// is a fault Invalid error whose Fields are keyed by the manifest path of
// the bad field ("version", "api.endpoints[2].method", ...). Unknown
// top-level fields are tolerated. Endpoint entries that are incomplete or
// use an unsupported method are not errors: MaterializeEndpoints drops them
// with a warning.
func ParseManifest(raw []byte) (Manifest, error) {
	var m Manifest
	f := fault.Fields{}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil || top == nil {
		f.Add("manifest", "must be a JSON object ("+jsonProblem(err)+")")
		return m, f.Err()
	}

	str := func(key string, dst *string) {
		v, ok := top[key]
		if !ok || isNull(v) {
			return
		}
		if err := json.Unmarshal(v, dst); err != nil {
			f.Add(key, "must be a string")
		}
	}
	str("publisher", &m.Publisher)
	str("name", &m.Name)
	str("version", &m.Version)
	str("display_name", &m.DisplayName)
	str("description", &m.Description)
	str("runtime", &m.Runtime)
	str("module", &m.Module)

	checkIdent(f, "publisher", m.Publisher)
	checkIdent(f, "name", m.Name)
	switch {
	case m.Version == "":
		f.Add("version", "is required (a semantic version such as 1.0.0)")
	case !ValidSemver(m.Version):
		f.Add("version", fmt.Sprintf("%q is not a semantic version: use MAJOR.MINOR.PATCH with optional -prerelease and +build, such as 1.0.0 or 2.1.0-beta.1", clip(m.Version)))
	}
	m.DisplayName = strings.TrimSpace(m.DisplayName)
	if m.DisplayName == "" {
		m.DisplayName = m.Name
	}
	if utf8.RuneCountInString(m.DisplayName) > maxDisplayName {
		f.Add("display_name", fmt.Sprintf("must be at most %d characters", maxDisplayName))
	}
	m.Description = strings.TrimSpace(m.Description)
	if utf8.RuneCountInString(m.Description) > maxDescription {
		f.Add("description", fmt.Sprintf("must be at most %d characters", maxDescription))
	}
	switch {
	case m.Runtime == "":
		f.Add("runtime", "is required and must be "+Runtime)
	case m.Runtime != Runtime:
		f.Add("runtime", fmt.Sprintf("%q is not supported; the only runtime is %s", clip(m.Runtime), Runtime))
	}
	switch {
	case m.Module == "":
		f.Add("module", "is required: the file name of the WebAssembly module in the bundle")
	case len(m.Module) > maxModuleName || m.Module == "." || m.Module == ".." || m.Module == "manifest.json" ||
		strings.ContainsAny(m.Module, `/\:`) || hasControl(m.Module):
		f.Add("module", fmt.Sprintf("%q must be a plain file name in the bundle, such as module.wasm", clip(m.Module)))
	}

	if v, ok := top["capabilities"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &m.Capabilities); err != nil {
			f.Add("capabilities", `must be a list of strings such as "cap:log.emit"`)
		}
	}
	if len(m.Capabilities) > maxCapabilities {
		f.Add("capabilities", fmt.Sprintf("must list at most %d capabilities", maxCapabilities))
	}
	seenCap := map[string]bool{}
	for i, c := range m.Capabilities {
		path := fmt.Sprintf("capabilities[%d]", i)
		switch {
		case !capabilityRe.MatchString(c):
			f.Add(path, fmt.Sprintf(`%q is not a capability: use "cap:<name>" with lower-case letters, digits, ".", "_" or "-"`, clip(c)))
		case seenCap[c]:
			f.Add(path, fmt.Sprintf("%q is listed twice", c))
		}
		seenCap[c] = true
	}

	parseAPI(f, top["api"], &m)
	parseConfigSchema(f, top["config_schema"], &m)

	if err := f.Err(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

func parseAPI(f fault.Fields, raw json.RawMessage, m *Manifest) {
	if raw == nil || isNull(raw) {
		return
	}
	var api map[string]json.RawMessage
	if err := json.Unmarshal(raw, &api); err != nil || api == nil {
		f.Add("api", `must be an object such as {"endpoints": [...]}`)
		return
	}
	eps, ok := api["endpoints"]
	if !ok || isNull(eps) {
		return
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(eps, &entries); err != nil {
		f.Add("api.endpoints", "must be a list of {method, path, handler} objects")
		return
	}
	if len(entries) > maxEndpoints {
		f.Add("api.endpoints", fmt.Sprintf("must declare at most %d endpoints", maxEndpoints))
		return
	}
	m.API.Endpoints = make([]ManifestEndpoint, 0, len(entries))
	for i, e := range entries {
		path := fmt.Sprintf("api.endpoints[%d]", i)
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(e, &obj); err != nil || obj == nil {
			f.Add(path, "must be an object with method, path and handler")
			continue
		}
		var ep ManifestEndpoint
		for _, fld := range []struct {
			name string
			dst  *string
		}{{"method", &ep.Method}, {"path", &ep.Path}, {"handler", &ep.Handler}} {
			v, ok := obj[fld.name]
			if !ok || isNull(v) {
				continue
			}
			if err := json.Unmarshal(v, fld.dst); err != nil {
				f.Add(path+"."+fld.name, "must be a string")
			}
		}
		if len(ep.Handler) > maxHandlerLength {
			f.Add(path+".handler", fmt.Sprintf("must be at most %d characters", maxHandlerLength))
		}
		m.API.Endpoints = append(m.API.Endpoints, ep)
	}
}

func parseConfigSchema(f fault.Fields, raw json.RawMessage, m *Manifest) {
	if raw == nil || isNull(raw) {
		return
	}
	var schema map[string]json.RawMessage
	if err := json.Unmarshal(raw, &schema); err != nil || schema == nil {
		f.Add("config_schema", `must be an object such as {"keys": [{"key": "region", "label": "Region"}]}`)
		return
	}
	m.ConfigSchema = &ConfigSchema{}
	keysRaw, ok := schema["keys"]
	if !ok || isNull(keysRaw) {
		return
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(keysRaw, &entries); err != nil {
		f.Add("config_schema.keys", "must be a list of {key, label, description, default, secret} objects")
		return
	}
	if len(entries) > maxConfigKeys {
		f.Add("config_schema.keys", fmt.Sprintf("must declare at most %d keys", maxConfigKeys))
		return
	}
	seen := map[string]int{}
	for i, e := range entries {
		path := fmt.Sprintf("config_schema.keys[%d]", i)
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(e, &obj); err != nil || obj == nil {
			f.Add(path, "must be an object with at least a key")
			continue
		}
		var k ConfigKey
		for _, fld := range []struct {
			name string
			dst  *string
		}{{"key", &k.Key}, {"label", &k.Label}, {"description", &k.Description}} {
			if v, ok := obj[fld.name]; ok && !isNull(v) {
				if err := json.Unmarshal(v, fld.dst); err != nil {
					f.Add(path+"."+fld.name, "must be a string")
				}
			}
		}
		if v, ok := obj["default"]; ok && !isNull(v) {
			k.Default = defaultString(v)
			if k.Default == "" && !bytes.Equal(bytes.TrimSpace(v), []byte(`""`)) {
				f.Add(path+".default", "must be a string, number or boolean")
			}
		}
		for _, fld := range []struct {
			name string
			dst  *bool
		}{{"secret", &k.Secret}, {"required", &k.Required}} {
			if v, ok := obj[fld.name]; ok && !isNull(v) {
				if err := json.Unmarshal(v, fld.dst); err != nil {
					f.Add(path+"."+fld.name, "must be true or false")
				}
			}
		}
		switch {
		case k.Key == "":
			f.Add(path+".key", "is required")
		case !configKeyRe.MatchString(k.Key):
			f.Add(path+".key", fmt.Sprintf("%q must be 1-64 letters, digits, \"_\", \".\" or \"-\"", clip(k.Key)))
		default:
			if j, dup := seen[k.Key]; dup {
				f.Add(path+".key", fmt.Sprintf("%q is already declared at config_schema.keys[%d]", k.Key, j))
			}
			seen[k.Key] = i
		}
		if strings.TrimSpace(k.Label) == "" {
			k.Label = k.Key
		}
		if k.Secret && k.Default != "" {
			f.Add(path+".default", "a secret key cannot have a default value")
		}
		m.ConfigSchema.Keys = append(m.ConfigSchema.Keys, k)
	}
}

// defaultString accepts a string, number or boolean default and returns
// it as the string the install's config stores; "" for anything else.
func defaultString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String()
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		if b {
			return "true"
		}
		return "false"
	}
	return ""
}

func checkIdent(f fault.Fields, field, v string) {
	switch {
	case v == "":
		f.Add(field, "is required (lower-case letters, digits and \"-\", 1-64 characters)")
	case !identRe.MatchString(v):
		f.Add(field, fmt.Sprintf("%q must be 1-64 lower-case letters, digits or \"-\"", clip(v)))
	}
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// clip shortens a user-supplied value quoted back in an error message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	switch {
	case err == nil:
		return "got another JSON value"
	case asSyntax(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	default:
		return "got another JSON value"
	}
}

func asSyntax(err error, target **json.SyntaxError) bool {
	s, ok := err.(*json.SyntaxError)
	if ok {
		*target = s
	}
	return ok
}
