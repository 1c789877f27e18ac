package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func noTemp(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range es {
		assert.NotContains(t, e.Name(), ".tmp", "temporary file left")
	}
}

func TestWriteKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	require.NoError(t, Write(p, []byte("one\n"), Options{}))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "a new file")
	require.NoError(t, os.Chmod(p, 0o600))
	require.NoError(t, Write(p, []byte("two\n"), Options{}))
	b, _ := os.ReadFile(p)
	assert.Equal(t, "two\n", string(b))
	st, _ = os.Stat(p)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "an existing file keeps its mode")
	noTemp(t, dir)
}

func TestWriteVerifyFails(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(p, []byte("old\n"), 0o644))
	bad := errors.New("does not parse back")
	var seen string
	err := Write(p, []byte("new\n"), Options{Verify: func(tmp string) error {
		b, _ := os.ReadFile(tmp)
		seen = string(b)
		return bad
	}})
	assert.ErrorIs(t, err, bad)
	assert.Equal(t, "new\n", seen, "Verify reads the written file")
	b, _ := os.ReadFile(p)
	assert.Equal(t, "old\n", string(b), "the old file is untouched")
	noTemp(t, dir)
}

func TestWriteCheckBeforeRename(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	calls := 0
	err := Write(p, []byte("x"), Options{Check: func(string) error {
		calls++
		if calls == 2 {
			return errors.New("changed under us")
		}
		return nil
	}})
	assert.EqualError(t, err, "changed under us")
	assert.Equal(t, 2, calls)
	assert.NoFileExists(t, p)
	noTemp(t, dir)
}

func TestWriteSymlink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
	require.NoError(t, os.WriteFile(target, []byte("old\n"), 0o640))
	require.NoError(t, os.Symlink("target", link))

	require.NoError(t, Write(link, []byte("followed\n"), Options{FollowSymlink: true}))
	fi, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&os.ModeSymlink, "the link is kept")
	b, _ := os.ReadFile(target)
	assert.Equal(t, "followed\n", string(b))
	st, _ := os.Stat(target)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())

	require.NoError(t, Write(link, []byte("replaced\n"), Options{}))
	fi, _ = os.Lstat(link)
	assert.True(t, fi.Mode().IsRegular(), "without FollowSymlink the name itself is replaced")
	b, _ = os.ReadFile(target)
	assert.Equal(t, "followed\n", string(b), "the old target is untouched")
	noTemp(t, dir)
}

func TestWriteNoDir(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "no", "f"), []byte("x"), Options{})
	assert.Error(t, err)
}
