package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// names is a resolver with a fixed table (tests cannot rely on DNS).
type names map[string][]string

func (n names) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	list, ok := n[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]netip.Addr, len(list))
	for i, s := range list {
		out[i] = netip.MustParseAddr(s)
	}
	return out, nil
}

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		addr   string
		public bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false}, // IPv4-mapped loopback
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"fc00::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"100.64.0.1", false},
		{"255.255.255.255", false},
		{"64:ff9b::a00:1", false}, // NAT64 of 10.0.0.1
	}
	for _, c := range cases {
		got := classify(netip.MustParseAddr(c.addr)) == ""
		if got != c.public {
			t.Errorf("%s: public = %v, want %v (reason %q)", c.addr, got, c.public, classify(netip.MustParseAddr(c.addr)))
		}
	}
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	p, err := ParseAllow(" crm.internal:8443, 127.0.0.1:9000 ,,[::1]:80, Local.Test.:81")
	if err != nil {
		t.Fatal(err)
	}
	for _, ok := range [][2]string{{"crm.internal", "8443"}, {"CRM.internal", "8443"}, {"127.0.0.1", "9000"},
		{"::1", "80"}, {"local.test", "81"}, {"::ffff:127.0.0.1", "9000"}} {
		if !p.Allowed(ok[0], ok[1]) {
			t.Errorf("%s:%s not allowed", ok[0], ok[1])
		}
	}
	if p.Allowed("crm.internal", "443") || p.Allowed("127.0.0.1", "9001") {
		t.Error("a listed host on another port is allowed")
	}
	for _, bad := range []string{"crm.internal", "crm.internal:0", "crm.internal:http", ":80", "a:b:c"} {
		if _, err := ParseAllow(bad); err == nil || !strings.Contains(err.Error(), "host:port") {
			t.Errorf("ParseAllow(%q) err = %v, want a host:port error", bad, err)
		}
	}
}

func TestResolveRefusesAnyPrivateAnswer(t *testing.T) {
	t.Parallel()
	p := Policy{}.WithResolver(names{
		"public.test":  {"93.184.216.34"},
		"loopy.test":   {"127.0.0.1"},
		"rebind.test":  {"93.184.216.34", "10.0.0.7"},
		"metadata.tst": {"169.254.169.254"},
	})
	ctx := context.Background()
	if addrs, err := p.Resolve(ctx, "public.test", "443"); err != nil || len(addrs) != 1 {
		t.Fatalf("public: %v %v", addrs, err)
	}
	for _, host := range []string{"loopy.test", "rebind.test", "metadata.tst", "127.0.0.1", "[::1]", "::ffff:10.0.0.1"} {
		_, err := p.Resolve(ctx, host, "443")
		if !IsRefused(err) {
			t.Errorf("%s: err = %v, want a refusal", host, err)
		}
	}
	_, err := p.Resolve(ctx, "loopy.test", "443")
	if want := "loopy.test resolves to 127.0.0.1, a loopback address"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("message %q does not say %q", err, want)
	}
	if _, err := p.Resolve(ctx, "nowhere.test", "443"); err == nil || IsRefused(err) {
		t.Errorf("unknown name: err = %v, want a resolution error", err)
	}
}

func TestAllowListOpensOneHostPort(t *testing.T) {
	t.Parallel()
	p, err := ParseAllow("loopy.test:8080,10.0.0.7:80")
	if err != nil {
		t.Fatal(err)
	}
	p = p.WithResolver(names{"loopy.test": {"127.0.0.1"}, "other.test": {"10.0.0.7"}})
	ctx := context.Background()
	if _, err := p.Resolve(ctx, "loopy.test", "8080"); err != nil {
		t.Errorf("listed name: %v", err)
	}
	if _, err := p.Resolve(ctx, "loopy.test", "8081"); !IsRefused(err) {
		t.Errorf("listed name, other port: %v", err)
	}
	// Listed by address: any name for that address and port passes.
	if _, err := p.Resolve(ctx, "other.test", "80"); err != nil {
		t.Errorf("listed address: %v", err)
	}
}

func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	return srv, port
}

func TestClientConnectsOnlyWhereAllowed(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv, port := server(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	ctx := context.Background()
	get := func(p Policy, u string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := p.Client(ClientOptions{}).Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	if err := get(Policy{}, srv.URL); !IsRefused(err) {
		t.Fatalf("loopback without the allow list: err = %v, want a refusal", err)
	}
	// A name that resolves to 127.0.0.1 is refused the same way.
	named := Policy{}.WithResolver(names{"crm.test": {"127.0.0.1"}})
	if err := get(named, "http://crm.test:"+port+"/"); !IsRefused(err) {
		t.Fatalf("name resolving to loopback: err = %v, want a refusal", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the server was reached %d times while refused", hits.Load())
	}
	allowed, err := ParseAllow("crm.test:" + port)
	if err != nil {
		t.Fatal(err)
	}
	allowed = allowed.WithResolver(names{"crm.test": {"127.0.0.1"}})
	if err := get(allowed, "http://crm.test:"+port+"/"); err != nil {
		t.Fatalf("listed name: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits = %d, want 1", hits.Load())
	}
}

func TestRedirectsAreCheckedAgain(t *testing.T) {
	t.Parallel()
	var inner atomic.Int64
	_, innerPort := server(t, func(w http.ResponseWriter, r *http.Request) {
		inner.Add(1)
		_, _ = io.WriteString(w, "secret")
	})
	_, outerPort := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-private":
			http.Redirect(w, r, "http://127.0.0.1:"+innerPort+"/", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		default:
			http.Redirect(w, r, "/to-private", http.StatusFound)
		}
	})
	// Only the outer server is allowed: its redirect to the inner one
	// (another loopback port) must be refused at the new connection.
	p, err := ParseAllow("127.0.0.1:" + outerPort)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/to-private", "/loop", "/to-file"} {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+outerPort+path, nil)
		resp, err := p.Client(ClientOptions{}).Do(req)
		if err == nil {
			_ = resp.Body.Close()
			t.Fatalf("%s: followed to status %d, want a refusal", path, resp.StatusCode)
		}
		if !IsRefused(err) {
			t.Errorf("%s: err = %v, want a refusal", path, err)
		}
	}
	if inner.Load() != 0 {
		t.Fatalf("the private server was reached %d times", inner.Load())
	}

	// CheckHost sees every hop.
	var seen []string
	check := func(u *url.URL) error {
		seen = append(seen, u.Path)
		if u.Path == "/to-private" {
			return errors.New("host not in the egress list")
		}
		return nil
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+outerPort+"/loop", nil)
	_, err = p.Client(ClientOptions{CheckHost: check}).Do(req)
	if err == nil || !strings.Contains(err.Error(), "host not in the egress list") || len(seen) != 1 {
		t.Fatalf("err = %v, seen %v", err, seen)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	p := Policy{}.WithResolver(names{"hooks.test": {"93.184.216.34"}, "inside.test": {"192.168.0.9"}})
	ctx := context.Background()
	if _, err := p.CheckURL(ctx, "https://hooks.test/extcron"); err != nil {
		t.Errorf("public https: %v", err)
	}
	bad := map[string]string{
		"ftp://hooks.test/x":            "http or https",
		"hooks.test/x":                  "absolute",
		"https://user:pw@hooks.test/x":  "user name",
		"https://inside.test/x":         "private address",
		"http://127.0.0.1:9/x":          "loopback",
		"http://[::1]/x":                "loopback",
		"http://169.254.169.254/latest": "link-local",
		"http://hooks.test:99999/":      "port",
	}
	for u, want := range bad {
		_, err := p.CheckURL(ctx, u)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckURL(%q) = %v, want an error saying %q", u, err, want)
		}
	}
}
