package sandbox

import (
	"fmt"
	"path"
	"strings"
)

// maxHostname is HOST_NAME_MAX on Linux.
const maxHostname = 64

// ValidateHostname checks a hostname or domain name a learner typed before
// it reaches sethostname(2): 1 to 64 bytes of letters, digits, '-' and '.',
// not starting or ending with '-' or '.'. The kernel itself would take any
// bytes; nslab is stricter so a typo cannot confuse the learner's prompt.
func ValidateHostname(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: a hostname cannot be empty", ErrBadInput)
	case len(name) > maxHostname:
		return fmt.Errorf("%w: a hostname is at most %d bytes, %q has %d", ErrBadInput, maxHostname, name, len(name))
	}
	for _, r := range name {
		ok := r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("%w: %q: use only letters, digits, '-' and '.' in a hostname", ErrBadInput, name)
		}
	}
	if strings.HasPrefix(name, "-") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "-") || strings.HasSuffix(name, ".") {
		return fmt.Errorf("%w: %q: a hostname may not start or end with '-' or '.'", ErrBadInput, name)
	}
	return nil
}

// ValidateMountTarget checks a mount point: absolute, clean, not "/" and
// not under /proc or /sys, where a mount would hide what nslab observes.
func ValidateMountTarget(p string) error {
	if p == "/proc" {
		return nil // a fresh /proc is a lesson of its own
	}
	switch {
	case p == "" || !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: mount point %q must be an absolute path like /mnt", ErrBadInput, p)
	case path.Clean(p) != p:
		return fmt.Errorf("%w: mount point %q is not clean: use %s", ErrBadInput, p, path.Clean(p))
	case p == "/":
		return fmt.Errorf("%w: nslab will not mount over /", ErrBadInput)
	case strings.HasPrefix(p, "/proc/") || p == "/sys" || strings.HasPrefix(p, "/sys/"):
		return fmt.Errorf("%w: nslab will not mount under /proc or /sys", ErrBadInput)
	case strings.ContainsAny(p, "\x00\n"):
		return fmt.Errorf("%w: mount point has control characters", ErrBadInput)
	}
	return nil
}

// ValidateMQName checks a POSIX message queue name: "/name", at most 255
// bytes, no further slash.
func ValidateMQName(name string) error {
	if len(name) < 2 || name[0] != '/' || strings.ContainsAny(name[1:], "/\x00") || len(name) > 255 {
		return fmt.Errorf("%w: a POSIX queue name looks like /nslab (one leading slash, no other), not %q", ErrBadInput, name)
	}
	return nil
}
