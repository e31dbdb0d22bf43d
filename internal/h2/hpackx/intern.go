package hpackx

import "unsafe"

// x/net's Encoder keeps the strings of every field it adds to its dynamic
// table. A string aliasing the caller's buffer would be corrupted when the
// buffer is reused, so a field x/net might index must be passed as a
// string we own. These tables make that free for the common cases.

// commonStrings holds names and values seen in most messages: every name
// and value of the HPACK static table (RFC 7541 Appendix A) plus frequent
// response and browser request headers. Looking a []byte up here does not
// allocate, and the stored string is immutable, so x/net may keep it.
var commonStrings = func() map[string]string {
	list := []string{
		// RFC 7541 Appendix A names.
		":authority", ":method", ":path", ":scheme", ":status",
		"accept-charset", "accept-encoding", "accept-language", "accept-ranges", "accept",
		"access-control-allow-origin", "age", "allow", "authorization", "cache-control",
		"content-disposition", "content-encoding", "content-language", "content-length",
		"content-location", "content-range", "content-type", "cookie", "date", "etag",
		"expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match",
		"if-range", "if-unmodified-since", "last-modified", "link", "location", "max-forwards",
		"proxy-authenticate", "proxy-authorization", "range", "referer", "refresh",
		"retry-after", "server", "set-cookie", "strict-transport-security",
		"transfer-encoding", "user-agent", "vary", "via", "www-authenticate",
		// RFC 7541 Appendix A values.
		"GET", "POST", "/", "/index.html", "http", "https",
		"200", "204", "206", "304", "400", "404", "500", "gzip, deflate",
		// Other frequent names.
		"access-control-allow-credentials", "access-control-allow-headers",
		"access-control-allow-methods", "access-control-expose-headers", "access-control-max-age",
		"alt-svc", "content-security-policy", "cross-origin-opener-policy",
		"cross-origin-resource-policy", "origin", "permissions-policy", "priority",
		"referrer-policy", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform",
		"sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user", "te",
		"timing-allow-origin", "upgrade-insecure-requests", "x-content-type-options",
		"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-frame-options",
		"x-real-ip", "x-request-id", "x-xss-protection", "forwarded", "early-data", "dnt",
		// Other frequent values.
		"HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT",
		"100", "101", "103", "201", "202", "301", "302", "303", "307", "308",
		"401", "403", "405", "408", "409", "410", "413", "429", "431",
		"501", "502", "503", "504",
		"0", "1", "?0", "?1", "*", "*/*", "gzip", "br", "zstd", "deflate", "identity",
		"gzip, deflate, br", "gzip, deflate, br, zstd", "trailers", "bytes", "none",
		"nosniff", "DENY", "SAMEORIGIN", "no-cache", "no-store", "private", "public",
		"max-age=0", "Accept-Encoding", "Origin", "chunked", "close", "keep-alive",
		"text/html", "text/html; charset=utf-8", "text/plain", "text/plain; charset=utf-8",
		"text/css", "text/javascript", "application/javascript", "application/json",
		"application/octet-stream", "application/x-www-form-urlencoded", "image/avif",
		"image/gif", "image/jpeg", "image/png", "image/svg+xml", "image/webp", "font/woff2",
		"document", "empty", "script", "style", "image", "font", "navigate", "cors",
		"no-cors", "same-origin", "same-site", "cross-site",
		"u=0", "u=1", "u=2", "u=3", "u=4", "u=5", "u=6", "u=7", "u=0, i", "u=1, i", "u=2, i", "i",
		"sluice",
	}
	m := make(map[string]string, len(list))
	for _, s := range list {
		m[s] = s
	}
	return m
}()

// internCache is an Encoder's own set of owned copies of names and values
// it has handed to x/net. A repeated value (a server name, a cookie, this
// second's date) is copied once and then found here, so encoding it again
// allocates nothing whether or not x/net still has it in its table.
//
// The cache is bounded by budget octets of string data; when full it is
// emptied rather than evicted entry by entry: strings x/net still holds
// stay alive through x/net, and the next use of a value simply copies it
// again.
type internCache struct {
	m      map[string]string
	bytes  int
	budget int
}

// get returns an owned string equal to b. The connection's own map is
// searched first and also remembers common strings, so a repeated field
// costs one hash per string.
func (c *internCache) get(b []byte) string {
	if s, ok := c.m[string(b)]; ok {
		return s
	}
	s, ok := commonStrings[string(b)]
	if !ok {
		s = string(b) // the one copy of a new value
	}
	if len(s) > c.budget {
		return s
	}
	if c.bytes+len(s) > c.budget {
		clear(c.m)
		c.bytes = 0
	}
	if c.m == nil {
		c.m = make(map[string]string)
	}
	c.m[s] = s
	c.bytes += len(s)
	return s
}

// unsafeString views b as a string without copying. Use only where the
// string cannot outlive the call (x/net will not index the field).
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
