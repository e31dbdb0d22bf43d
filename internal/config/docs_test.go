package config

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDocsCoverEveryKey keeps docs/configuration.md in step with the
// decoder: every key the decoder knows is documented as `key`.
func TestDocsCoverEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Skipf("docs not found: %v", err)
	}
	var keys []string
	for k := range topFields {
		keys = append(keys, k)
	}
	for k := range listenerFields {
		keys = append(keys, k)
	}
	for k := range clusterFields {
		keys = append(keys, k)
	}
	for k := range frontendFields {
		keys = append(keys, k)
	}
	for k := range backendFields {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/configuration.md does not document `%s`", k)
		}
	}
	// The row of every numeric key states the range that is enforced.
	rows := map[string]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| `") {
			name := line[3:]
			if i := strings.IndexByte(name, '`'); i > 0 {
				rows[name[:i]] = line
			}
		}
	}
	for k, b := range limits {
		want := strconv.FormatInt(b.min, 10) + ".." + strconv.FormatInt(b.max, 10)
		if row, ok := rows[k]; !ok {
			t.Errorf("docs/configuration.md has no table row for `%s`", k)
		} else if !strings.Contains(row, want) {
			t.Errorf("docs/configuration.md row of `%s` does not state its range %s:\n%s", k, want, row)
		}
	}
}
