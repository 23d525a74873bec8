package nldump

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// fakeDump fails with errs in turn, then returns the rows.
func fakeDump(calls *int, errs ...error) func() ([]string, error) {
	return func() ([]string, error) {
		i := *calls
		*calls++
		if i < len(errs) {
			// netlink hands back what it had so far with the error.
			return []string{"partial"}, errs[i]
		}
		return []string{"lo", "eth0"}, nil
	}
}

func TestDo(t *testing.T) {
	interrupted := fmt.Errorf("netlink: %w", netlink.ErrDumpInterrupted)
	for _, tc := range []struct {
		name      string
		errs      []error
		wantRows  int
		wantCalls int
		wantErr   error
	}{
		{"clean", nil, 2, 1, nil},
		{"interrupted twice then clean", []error{interrupted, interrupted}, 2, 3, nil},
		{"interrupted until the last try", []error{interrupted, interrupted, interrupted, interrupted}, 2, Attempts, nil},
		{"never settles", []error{interrupted, interrupted, interrupted, interrupted, interrupted, interrupted}, 0, Attempts, netlink.ErrDumpInterrupted},
		{"other error is not retried", []error{unix.EPERM}, 0, 1, unix.EPERM},
		{"other error after an interruption", []error{interrupted, unix.ENOBUFS}, 0, 2, unix.ENOBUFS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			rows, err := Do("list links", fakeDump(&calls, tc.errs...))
			if calls != tc.wantCalls {
				t.Errorf("dump called %d times, want %d", calls, tc.wantCalls)
			}
			if len(rows) != tc.wantRows {
				t.Errorf("rows = %q, want %d rows (a partial dump must not leak out)", rows, tc.wantRows)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want one wrapping %v", err, tc.wantErr)
			}
			if got := err.Error(); len(got) < len("list links") || got[:len("list links")] != "list links" {
				t.Errorf("err = %q, want it to name what was listed", got)
			}
		})
	}
}
