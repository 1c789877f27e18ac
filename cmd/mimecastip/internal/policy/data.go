package policy

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// MaxDataBytes bounds a data file read by ReadDataFile. The embedded
// dataset is about 20 KB; a file larger than this is refused, not read.
const MaxDataBytes = 16 << 20

// ReadDataFile reads and validates the data file at path with one read
// (see regions.Parse). It never blocks on the path: anything but a regular
// file (a FIFO, device, directory or socket; a symbolic link is followed)
// is refused before it is read, and the file is opened non-blocking and
// checked again after opening, so a FIFO swapped in between cannot stall
// the caller.
func ReadDataFile(path string) (*regions.Dataset, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("data file %s: %s, not a regular file", path, fileKind(fi.Mode()))
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("data file %s: %s, not a regular file", path, fileKind(fi.Mode()))
	}
	if fi.Size() > MaxDataBytes {
		return nil, fmt.Errorf("data file %s: %d bytes, more than the limit of %d", path, fi.Size(), MaxDataBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxDataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", path, err)
	}
	if len(b) > MaxDataBytes {
		return nil, fmt.Errorf("data file %s: more than the limit of %d bytes", path, MaxDataBytes)
	}
	if testHookRead != nil {
		testHookRead(path)
	}
	d, err := regions.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// testHookRead, in tests, runs after each read of a data file.
var testHookRead func(path string)

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&os.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "a special file (" + m.Type().String() + ")"
}
