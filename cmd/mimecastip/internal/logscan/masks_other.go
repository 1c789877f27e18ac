//go:build !amd64 || purego

package logscan

func masksFast(buf []byte, dot4, colon, nl []uint64) { masksSWAR(buf, dot4, colon, nl) }

func newlinesFast(buf []byte, nl []uint64) { newlinesSWAR(buf, nl) }
