package admin

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sluice-proxy/sluice/internal/state"
)

// Human-readable renderings of the API's answers for `sluice ctl`.

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// RenderState prints the live state as tables: listeners, clusters,
// frontends, backends.
func RenderState(w io.Writer, d *state.Document) {
	t := table(w)
	fmt.Fprintln(t, "LISTENER\tPROTOCOL\tH2C\tCERTIFICATES\tMAX_CONNECTIONS")
	for _, l := range d.Listeners {
		certs := len(l.Certificates)
		if l.Certificate != "" {
			certs++
		}
		h2c := "-"
		if l.Protocol == "http" {
			h2c = strconv.FormatBool(l.H2C)
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%d\n", l.Address, l.Protocol, h2c, certs, l.MaxConnections)
	}
	t.Flush()
	ids := make([]string, 0, len(d.Clusters))
	for id := range d.Clusters {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fmt.Fprintln(w)
	t = table(w)
	fmt.Fprintln(t, "CLUSTER\tLOAD_BALANCING\tBACKEND_PROTOCOL\tFRONTENDS\tBACKENDS")
	for _, id := range ids {
		c := d.Clusters[id]
		fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%d\n", id, c.LoadBalancing, c.BackendProtocol, len(c.Frontends), len(c.Backends))
	}
	t.Flush()
	fmt.Fprintln(w)
	t = table(w)
	fmt.Fprintln(t, "CLUSTER\tLISTENER\tHOSTNAME\tPATH\tPATH_TYPE\tCERTIFICATE")
	for _, id := range ids {
		for _, f := range d.Clusters[id].Frontends {
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", id, f.Address, f.Hostname, f.Path, f.PathType, orDash(f.Certificate))
		}
	}
	t.Flush()
	fmt.Fprintln(w)
	t = table(w)
	fmt.Fprintln(t, "CLUSTER\tBACKEND\tADDRESS\tWEIGHT")
	for _, id := range ids {
		for _, b := range d.Clusters[id].Backends {
			fmt.Fprintf(t, "%s\t%s\t%s\t%d\n", id, b.ID, b.Address, b.Weight)
		}
	}
	t.Flush()
}

// RenderOutcome prints what a change did.
func RenderOutcome(w io.Writer, o *Outcome) {
	fmt.Fprintf(w, "ok: %s", o.Op)
	if o.What != "" {
		fmt.Fprintf(w, " %s", o.What)
	}
	if o.Changes != nil {
		fmt.Fprintf(w, " (state version %d", o.Changes.Version)
		if o.Saved {
			fmt.Fprint(w, ", saved")
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintln(w)
	if id, ok := o.Extra["id"].(string); ok {
		fmt.Fprintf(w, "  certificate id %s\n", id)
	}
	if ch := o.Changes; ch != nil {
		for _, l := range []struct {
			what string
			list []string
		}{
			{"listener added", ch.ListenersAdded}, {"listener removed (draining)", ch.ListenersRemoved},
			{"listener restarted with new settings", ch.ListenersReplaced},
			{"certificate added", ch.CertsAdded}, {"certificate removed", ch.CertsRemoved},
		} {
			for _, x := range l.list {
				fmt.Fprintf(w, "  %s: %s\n", l.what, x)
			}
		}
	}
	if o.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", o.Warning)
	}
}

// RenderCerts prints a listener's certificates.
func RenderCerts(w io.Writer, certs []CertInfo) {
	t := table(w)
	fmt.Fprintln(t, "ID\tNAMES\tNOT_AFTER\tDEFAULT\tDECLARED_BY")
	for _, c := range certs {
		var src []string
		for _, s := range c.Sources {
			switch s.Role {
			case "frontend":
				src = append(src, "frontend "+s.Cluster+" "+s.Hostname+" ("+s.Certificate+")")
			default:
				src = append(src, s.Role+" ("+s.Certificate+")")
			}
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%v\t%s\n", c.ID[:16], strings.Join(c.Names, ","), c.NotAfter.UTC().Format("2006-01-02"), c.Default, orDash(strings.Join(src, "; ")))
	}
	t.Flush()
}

// RenderStatus prints the process status.
func RenderStatus(w io.Writer, s *Status) {
	t := table(w)
	fmt.Fprintf(t, "pid\t%d\n", s.PID)
	fmt.Fprintf(t, "started\t%s\n", s.Started.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(t, "state version\t%d\n", s.Version)
	fmt.Fprintf(t, "config file\t%s\n", orDash(s.ConfigFile))
	fmt.Fprintf(t, "saved state\t%s\n", orDash(s.SavedState))
	fmt.Fprintf(t, "listeners\t%s\n", strings.Join(s.Listeners, " "))
	fmt.Fprintf(t, "clusters\t%d\n", s.Clusters)
	fmt.Fprintf(t, "backends\t%d\n", s.Backends)
	t.Flush()
}
