//go:build !linux

package cli

import "os"

// isTTY reports whether f, a character device, is a terminal; without a
// portable ioctl, every character device but the null device counts.
func isTTY(f *os.File) bool { return f.Name() != os.DevNull }
