package session

import (
	"strconv"

	"github.com/sluice-proxy/sluice/internal/backend"
	"github.com/sluice-proxy/sluice/internal/h1"
)

// defaultAnswers are the small HTML bodies of the answers sluice generates
// itself (CONTRACT.md "Default answers"); clusters may replace them.
var defaultAnswers = map[int][]byte{}

func init() {
	for _, c := range []struct {
		code int
		text string
	}{
		{400, "The request could not be understood."},
		{404, "No application is configured for this host and path."},
		{405, "This method is not supported by the proxy."},
		{408, "The request took too long to arrive."},
		{421, "This connection's certificate does not cover the requested host; retry on a new connection."},
		{431, "The request header fields are too large."},
		{502, "The application failed to answer correctly."},
		{503, "No application server is available right now."},
		{504, "The application took too long to answer."},
	} {
		title := strconv.Itoa(c.code) + " " + h1.StatusText(c.code)
		defaultAnswers[c.code] = []byte("<!DOCTYPE html>\n<html><head><title>" + title +
			"</title></head><body><h1>" + title + "</h1><p>" + c.text + "</p><hr><p>sluice</p></body></html>\n")
	}
}

// answerBody returns the body for a default answer: the cluster's custom
// one when it has it, else the built-in page.
func answerBody(cl *backend.Cluster, status int) []byte {
	if cl != nil {
		if b := cl.Answer(status); b != nil {
			return b
		}
	}
	if b, ok := defaultAnswers[status]; ok {
		return b
	}
	return []byte(strconv.Itoa(status) + " " + h1.StatusText(status) + "\n")
}
