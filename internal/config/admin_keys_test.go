package config

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestAdminAndCertificatesKeys covers the keys of issue 8: admin_allowed_uids,
// a listener's certificates array, and the answer files kept beside the
// answers.
func TestAdminAndCertificatesKeys(t *testing.T) {
	dir := certDir(t)
	file := filepath.Join(dir, "sluice.toml")
	https := "admin_socket = \"a.sock\"\n" + listenersHTTP // the https listener is on lines 5-7

	t.Run("valid", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "503.html"), "<p>later</p>")
		c, err := loadIn(t, dir, https+
			"certificates = [{ certificate = \"app.pem\", key = \"app.key\" }, { certificate = \"other.pem\", key = \"other.key\" }]\n"+
			"[clusters.app]\nanswers = { \"503\" = \"503.html\" }\n")
		if err != nil {
			t.Fatal(err)
		}
		l := c.Listeners[1]
		want := []*CertificateFiles{
			{Line: 8, Certificate: filepath.Join(dir, "app.pem"), Key: filepath.Join(dir, "app.key")},
			{Line: 8, Certificate: filepath.Join(dir, "other.pem"), Key: filepath.Join(dir, "other.key")},
		}
		if !reflect.DeepEqual(l.Certificates, want) {
			t.Errorf("certificates = %+v, want %+v", l.Certificates, want)
		}
		if got := c.Clusters[0].AnswerFiles[503]; got != filepath.Join(dir, "503.html") {
			t.Errorf("answer file = %q", got)
		}
		c, err = loadIn(t, dir, "admin_allowed_uids = [1000, 0]\n"+https)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.AdminAllowedUIDs, []int{1000, 0}) {
			t.Errorf("admin_allowed_uids = %v", c.AdminAllowedUIDs)
		}
	})

	cases := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"uids not an array", "admin_allowed_uids = 1000\n" + https, []wantErr{{1, "admin_allowed_uids", "must be an array of user ids"}}},
		{"uid not an integer", "admin_allowed_uids = [\"bob\"]\n" + https, []wantErr{{1, "admin_allowed_uids[0]", "must be an integer user id"}}},
		{"uid negative", "admin_allowed_uids = [1, -1]\n" + https, []wantErr{{1, "admin_allowed_uids[1]", "from 0 to 4294967294"}}},
		{"uid too large", "admin_allowed_uids = [4294967295]\n" + https, []wantErr{{1, "admin_allowed_uids[0]", "from 0 to 4294967294"}}},
		{"uid twice", "admin_allowed_uids = [7, 7]\n" + https, []wantErr{{1, "admin_allowed_uids[1]", "7 is listed twice"}}},
		{"uids without socket", "admin_allowed_uids = [7]\n" + listenersHTTP, []wantErr{{1, "admin_allowed_uids", "has no effect without admin_socket"}}},
		{"certificates on http", oneHTTP + "certificates = [{ certificate = \"app.pem\", key = \"app.key\" }]\n",
			[]wantErr{{4, "listeners[0].certificates", `applies only to protocol = "https"`}}},
		{"certificates not tables", https + "certificates = [\"app.pem\"]\n", []wantErr{{8, "listeners[1].certificates[0]", "must be a table"}}},
		{"certificate unknown key", https + "certificates = [{ cert = \"app.pem\" }]\n", []wantErr{{8, "listeners[1].certificates[0].cert", "unknown key"}, {8, "listeners[1].certificates[0].certificate", "is required"}}},
		{"certificate missing", https + "certificates = [{ key = \"app.key\" }]\n", []wantErr{{8, "listeners[1].certificates[0].certificate", "is required"}}},
		{"certificate without key", https + "certificates = [{ certificate = \"app.pem\" }]\n", []wantErr{{8, "listeners[1].certificates[0].certificate", "requires key"}}},
		{"certificate key mismatch", https + "certificates = [{ certificate = \"app.pem\", key = \"other.key\" }]\n",
			[]wantErr{{8, "listeners[1].certificates[0].key", "does not match"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadIn(t, dir, tc.src)
			checkErrors(t, file, err, tc.want)
		})
	}
}
