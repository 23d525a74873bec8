package serve

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	gossh "golang.org/x/crypto/ssh"
)

// OpenStateDir makes the class's state directory if it is missing (0700,
// with its parents) and checks that it is a real directory (not a
// symlink) of this process's user that nobody else can read: it holds
// the host key and every learner's progress. A directory of ours with
// wider permissions is narrowed to 0700.
func OpenStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make the class state directory %s: %w (choose another with --state-dir)", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("class state directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("the class state directory %s is not a directory (a symlink?); nslab uses only a real directory there: move it away or choose another with --state-dir", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("the class state directory %s belongs to uid %d, not to this server's user (uid %d): it holds every learner's progress, so nslab uses only its own; choose another with --state-dir", dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make the class state directory %s private (0700): %w", dir, err)
		}
	}
	return nil
}

// LoadHostKey reads the server's ed25519 host key from path, or, the
// first time, generates one and writes it there (0600, never replacing a
// file): learners who connected once are not warned again. A key file that
// others may read or write is refused, as OpenSSH's sshd does, since
// anyone who has it can pose as the server.
func LoadHostKey(path string) (gossh.Signer, error) {
	b, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := writeNewKey(path); err != nil {
			return nil, err
		}
		b, err = readKey(path)
	}
	if err != nil {
		return nil, err
	}
	signer, err := gossh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("the host key %s cannot be read as an SSH private key: %w (move it away and nslab makes a new one; learners then see a changed-key warning once)", path, err)
	}
	return signer, nil
}

// readKey reads the key file, never through a symlink, and only if no one
// but its owner may read or write it.
func readKey(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("the host key %s is a symlink; nslab reads only a real file there: %w", path, err)
		}
		return nil, fmt.Errorf("read the host key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read the host key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the host key %s is not a regular file (%s); move it away", path, fi.Mode().Type())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the host key %s may be read or written by others (mode %04o): anyone who reads it can pose as this server. Make it private (`chmod 600 %s`) and start again", path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read the host key %s: %w", path, err)
	}
	return b, nil
}

// writeNewKey generates an ed25519 key and writes it to path, 0600, in a
// 0700 directory, failing if the file exists.
func writeNewKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate the host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "nslab class server")
	if err != nil {
		return fmt.Errorf("encode the host key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("make the host key's directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("write the host key %s: %w", path, err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write the host key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write the host key %s: %w", path, err)
	}
	return f.Close()
}
