package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// splitPort splits "host:port" and checks the port is a decimal 1..65535.
// Service names ("http") are refused: the file should say what it binds.
func splitPort(s string) (host string, port int, err error) {
	if s == "" {
		return "", 0, errors.New("must not be empty")
	}
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", 0, fmt.Errorf("%q is not host:port (%s)", s, ae.Err)
		}
		return "", 0, fmt.Errorf("%q is not host:port", s)
	}
	if p == "" || len(p) > 5 || strings.Trim(p, "0123456789") != "" {
		return "", 0, fmt.Errorf("%q: port must be a number from 1 to 65535", s)
	}
	n, _ := strconv.Atoi(p)
	if n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("%q: port must be a number from 1 to 65535", s)
	}
	return host, n, nil
}

// canonicalListenAddr checks an address sluice binds (a listener or the
// metrics endpoint) and returns its canonical spelling, so that "[::1]:08080"
// and "[0:0::1]:8080" compare equal. The host must be an IP literal or
// "localhost": a DNS name could resolve to anything at start-up.
func canonicalListenAddr(s string) (string, error) {
	host, port, err := splitPort(s)
	if err != nil {
		return "", err
	}
	if strings.EqualFold(host, "localhost") {
		return net.JoinHostPort("localhost", strconv.Itoa(port)), nil
	}
	if host == "" {
		return "", fmt.Errorf("%q: host must be an IP address or localhost (use 0.0.0.0 or [::] for every interface)", s)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("%q: host must be an IP address or localhost", s)
	}
	return netip.AddrPortFrom(ip, uint16(port)).String(), nil
}

// canonicalBackendAddr checks a backend address: an IP literal or a DNS
// name, and a port. Names are lowercased without a trailing dot.
func canonicalBackendAddr(s string) (string, error) {
	host, port, err := splitPort(s)
	if err != nil {
		return "", err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip, uint16(port)).String(), nil
	}
	if err := checkDNSName(host); err != nil {
		return "", fmt.Errorf("%q: host %v", s, err)
	}
	return net.JoinHostPort(normalizeHostname(host), strconv.Itoa(port)), nil
}

// checkHostname checks a frontend hostname: a DNS name, an IP literal
// (IPv6 in brackets, as in a Host header) or, when wildcard is set,
// "*.name" where the star stands for exactly one label (the router's rule,
// after RFC 6125 6.4.3).
func checkHostname(h string, wildcard bool) error {
	if h == "" {
		return errors.New("must not be empty")
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		if ip, err := netip.ParseAddr(h[1 : len(h)-1]); err == nil && ip.Is6() {
			return nil
		}
		return fmt.Errorf("%q is not a bracketed IPv6 address", h)
	}
	if strings.Contains(h, ":") {
		return fmt.Errorf("%q must not contain a port (a hostname matches the request host without its port)", h)
	}
	name := h
	if wildcard && strings.HasPrefix(h, "*.") {
		name = h[2:]
	}
	if strings.Contains(name, "*") {
		return fmt.Errorf("%q: a wildcard must be the whole left-most label, as in *.example.com", h)
	}
	if err := checkDNSName(name); err != nil {
		return fmt.Errorf("%q: %v", h, err)
	}
	return nil
}

// checkDNSName checks the shape of a host name (RFC 1123 2.1: labels of
// letters, digits and hyphens, 1..63 bytes, 253 in all). Underscores are
// accepted because private zones use them and the router compares bytes.
func checkDNSName(s string) error {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return errors.New("is empty")
	}
	if len(s) > 253 {
		return errors.New("is longer than 253 bytes")
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return errors.New("has an empty label")
		}
		if len(label) > 63 {
			return errors.New("has a label longer than 63 bytes")
		}
		for _, c := range label {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return fmt.Errorf("contains %q, which is not allowed in a host name", c)
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("has a label that starts or ends with a hyphen")
		}
	}
	return nil
}
