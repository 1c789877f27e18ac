// Package atomicfile replaces a file atomically: the new contents go to a
// temporary file in the same directory, which is synced, given the old
// file's permissions (and, as root, its owner), optionally checked, and
// only then renamed over the old one. Readers (Postfix, rspamd, a
// reloading policy service) never see half a file, and on any error the
// old file is untouched and no temporary file is left.
//
// It is the one mechanism behind refresh's data file writes and export
// -o; their rules for what may be replaced differ and are the caller's
// (Options.Check, Options.FollowSymlink).
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Options says what Write may replace and how it checks the new file.
type Options struct {
	// Check, when set, vets path (the name given to Write) before
	// anything is written and again just before the rename; an error
	// stops the write and is returned as is.
	Check func(path string) error
	// FollowSymlink: when path is a symlink, the file it points to is
	// replaced and the link kept. Otherwise path itself is replaced
	// (callers that must not replace a symlink refuse it in Check).
	FollowSymlink bool
	// Verify, when set, is called with the name of the written and synced
	// temporary file before the rename (to parse it back); an error stops
	// the write and is returned as is.
	Verify func(tmp string) error
}

// Write replaces path with b as described in the package comment. A new
// file gets mode 0644. Errors of the file system name the file.
func Write(path string, b []byte, o Options) (err error) {
	if o.Check != nil {
		if err := o.Check(path); err != nil {
			return err
		}
	}
	target := path
	if o.FollowSymlink {
		if t, err := filepath.EvalSymlinks(path); err == nil {
			target = t
		}
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	mode := os.FileMode(0o644)
	if st, err := os.Stat(target); err == nil {
		mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			f.Chown(int(sys.Uid), int(sys.Gid))
		}
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if o.Verify != nil {
		if err = o.Verify(tmp); err != nil {
			return err
		}
	}
	if o.Check != nil {
		if err = o.Check(path); err != nil {
			return err
		}
	}
	return os.Rename(tmp, target)
}
