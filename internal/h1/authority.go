package h1

// parseAuthority parses uri-host [ ":" port ] (RFC 9110 4.2.3 and 7.2;
// RFC 3986 3.2.2-3.2.3) as found in a Host field, an absolute-form target
// or a CONNECT target. port is -1 when absent or empty (RFC 3986 6.2.3
// treats "host:" like "host"). The host must be non-empty: an http(s) URI
// with an empty host is invalid (RFC 9110 4.2.1). Userinfo ("user@") is not
// accepted: '@' is not a reg-name character.
func parseAuthority(b []byte) (host []byte, port int, ok bool) {
	i := 0
	if len(b) > 0 && b[0] == '[' {
		// IP-literal: IPv6address in brackets. IPvFuture and zone ids are
		// not accepted; nothing legitimate sends them to a proxy.
		i = 1
		for i < len(b) && (hexVal[b[i]] != 0xff || b[i] == ':' || b[i] == '.') {
			i++
		}
		if i >= len(b) || b[i] != ']' || i == 1 {
			return nil, -1, false
		}
		i++
	} else {
		for i < len(b) && isRegNameChar[b[i]] {
			if b[i] == '%' {
				// pct-encoded = "%" HEXDIG HEXDIG
				if i+2 >= len(b) || hexVal[b[i+1]] == 0xff || hexVal[b[i+2]] == 0xff {
					return nil, -1, false
				}
				i += 2
			}
			i++
		}
		if i == 0 {
			return nil, -1, false
		}
	}
	host = b[:i]
	if i == len(b) {
		return host, -1, true
	}
	if b[i] != ':' {
		return nil, -1, false
	}
	digits := b[i+1:]
	if len(digits) == 0 {
		return host, -1, true
	}
	if len(digits) > 5 {
		return nil, -1, false
	}
	port = 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, -1, false
		}
		port = port*10 + int(c-'0')
	}
	if port > 65535 {
		return nil, -1, false
	}
	return host, port, true
}
