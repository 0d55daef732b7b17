// Package egress decides which network addresses extcron's outbound HTTP
// may reach: the embedded runner's cap:http.fetch for extensions and the
// webhooks of alert channels. Both send requests to URLs that tenants (or
// the extensions they install) choose, so both must not become a way into
// the network extcron runs in: addresses that are private, loopback,
// link-local, multicast or otherwise not public are refused unless the
// operator lists the host:port in EXTCRON_EGRESS_ALLOW.
//
// A host name is resolved once per connection, every address it resolves
// to is checked, and the connection is made to a checked address, so a
// name cannot answer with a public address for the check and a private one
// for the connection (DNS rebinding). Redirects open new connections and
// are checked again the same way.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Policy is the outbound address policy: the public internet, plus the
// host:port pairs an operator allowed. The zero value allows no private
// address. A Policy is safe for concurrent use.
type Policy struct {
	allow    map[string]bool // "host:port", host lower-cased (a name or an IP)
	resolver Resolver
}

// Resolver looks up the addresses of a host name. *net.Resolver has this
// method; tests give names of their own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ParseAllow reads EXTCRON_EGRESS_ALLOW: a comma-separated list of
// host:port entries (a name or an IP address, and a port), each of which
// may then be reached even when its address is private. Blank entries are
// ignored. The error names the first bad entry.
func ParseAllow(list string) (Policy, error) {
	p := Policy{allow: map[string]bool{}}
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		host, port, err := net.SplitHostPort(entry)
		if err != nil || host == "" || !validPort(port) {
			return Policy{}, fmt.Errorf("entry %q must be host:port, such as crm.internal:8443 or 10.0.0.5:80", entry)
		}
		p.allow[allowKey(host, port)] = true
	}
	return p, nil
}

// WithResolver returns a copy of p that resolves names with r (tests).
func (p Policy) WithResolver(r Resolver) Policy {
	p.resolver = r
	return p
}

func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536
}

func allowKey(host, port string) string {
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().String()
	}
	return net.JoinHostPort(host, port)
}

// Allowed reports whether host:port is listed in EXTCRON_EGRESS_ALLOW.
func (p Policy) Allowed(host, port string) bool {
	return p.allow[allowKey(host, port)]
}

// RefusedError says why a destination is refused, in words a tenant admin
// or an extension author can act on. It never holds more than the host,
// the port and the address.
type RefusedError struct {
	Host   string
	Port   string
	Addr   netip.Addr // zero when the refusal is not about an address
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Addr.IsValid() && e.Addr.String() != strings.Trim(e.Host, "[]") {
		return fmt.Sprintf("%s resolves to %s, %s; only public addresses may be reached unless EXTCRON_EGRESS_ALLOW lists %s",
			e.Host, e.Addr, e.Reason, net.JoinHostPort(e.Host, e.Port))
	}
	if e.Addr.IsValid() {
		return fmt.Sprintf("%s is %s; only public addresses may be reached unless EXTCRON_EGRESS_ALLOW lists %s",
			e.Addr, e.Reason, net.JoinHostPort(e.Host, e.Port))
	}
	return e.Reason
}

// IsRefused reports whether err is (or wraps) a refusal by the policy.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// nonPublic lists the IPv4 and IPv6 ranges that are not the public
// internet, beyond what netip's predicates name, with the reason shown.
var nonPublic = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a reserved address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "a reserved address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address (it can reach private IPv4)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a NAT64 address (it can reach private IPv4)"},
	{netip.MustParsePrefix("100::/64"), "a discard address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address (it can reach private IPv4)"},
}

// classify returns why a is not a public address, or "" when it is.
func classify(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "a multicast address"
	case a.IsUnspecified():
		return "an unspecified address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, n := range nonPublic {
		if n.prefix.Contains(a) {
			return n.reason
		}
	}
	return ""
}

// CheckAddr checks one resolved address of host:port against the policy.
func (p Policy) CheckAddr(host, port string, a netip.Addr) error {
	reason := classify(a)
	if reason == "" || p.Allowed(host, port) || p.Allowed(a.Unmap().String(), port) {
		return nil
	}
	return &RefusedError{Host: host, Port: port, Addr: a.Unmap(), Reason: reason}
}

// Resolve looks up host (or parses it when it is an address) and checks
// every address against the policy: a name with one private answer among
// public ones is refused as a whole, since the answer it gives the next
// time cannot be known.
func (p Policy) Resolve(ctx context.Context, host, port string) ([]netip.Addr, error) {
	host = strings.Trim(host, "[]")
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a.Unmap()}
	} else {
		r := p.resolver
		if r == nil {
			r = net.DefaultResolver
		}
		found, err := r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("%s does not resolve: %w", host, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s does not resolve to any address", host)
		}
		for _, a := range found {
			addrs = append(addrs, a.Unmap())
		}
	}
	for _, a := range addrs {
		if err := p.CheckAddr(host, port, a); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// DialContext connects to addr (host:port) the way the policy allows:
// resolved once, every address checked, the connection made to a checked
// address (tried in order until one answers). It has the signature of
// net.Dialer.DialContext, for an http.Transport.
func (p Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := p.Resolve(ctx, host, port)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var firstErr error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// CheckURL checks a destination URL before it is stored (a webhook) or
// requested: http or https, a host, no user info, and a host that resolves
// only to addresses the policy allows.
func (p Policy) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	u, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	if _, err := p.Resolve(ctx, u.Hostname(), Port(u)); err != nil {
		return nil, err
	}
	return u, nil
}

// ParseURL checks the shape of an outbound URL without resolving it.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("must be an absolute http or https URL, such as https://hooks.example.com/extcron")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("must use http or https, not %q", u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("must not carry a user name or password; put credentials in headers the receiver checks")
	}
	if p := u.Port(); p != "" && !validPort(p) {
		return nil, fmt.Errorf("has an invalid port %q", p)
	}
	return u, nil
}

// Port is the URL's port, or its scheme's default.
func Port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// ClientOptions shape an HTTP client that obeys the policy.
type ClientOptions struct {
	// Timeout bounds a whole request, redirects included [30s].
	Timeout time.Duration
	// MaxRedirects bounds the redirects followed [5].
	MaxRedirects int
	// CheckHost, when set, is asked about every URL the client is sent to,
	// the first and each redirect's (the runner checks the extension's
	// egress patterns here).
	CheckHost func(u *url.URL) error
}

// Client returns an HTTP client whose every connection goes through the
// policy's dialer, which never uses a proxy from the environment (a proxy
// would make the connection on our behalf, unchecked), and which checks
// each redirect's scheme (and host, with CheckHost) before following it.
func (p Policy) Client(o ClientOptions) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 5
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           p.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: t,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= o.MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", o.MaxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return &RefusedError{Host: req.URL.Host, Reason: fmt.Sprintf("a redirect to %q is refused: only http and https", req.URL.Scheme)}
			}
			if o.CheckHost != nil {
				return o.CheckHost(req.URL)
			}
			return nil
		},
	}
}
