package logscan

import (
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compression is a compressed file format recognised by [Decompress].
type Compression string

// The formats [Decompress] recognises by their magic bytes, as zgrep and
// zcat do (file names do not matter).
const (
	Plain Compression = ""      // not compressed
	Gzip  Compression = "gzip"  // 1f 8b (also several concatenated members)
	Bzip2 Compression = "bzip2" // "BZh"
	XZ    Compression = "xz"    // fd "7zXZ" 00
	Zstd  Compression = "zstd"  // 28 b5 2f fd
)

// ErrUnsupportedCompression reports an input compressed in a format
// [Decompress] recognises but does not read (lz4, compress, zip, 7z,
// lzop): scanning its bytes as text would find nothing and look clean.
var ErrUnsupportedCompression = errors.New("this compression is not supported")

var unsupported = []struct {
	magic string
	c     Compression
	tool  string
}{
	{"\x04\x22\x4d\x18", "lz4", "lz4 -dc"},
	{"\x1f\x9d", "compress (.Z)", "zcat"},
	{"\x1f\xa0", "pack (.z)", "gzip -dc"},
	{"PK\x03\x04", "zip", "unzip -p"},
	{"7z\xbc\xaf\x27\x1c", "7z", "7z e -so"},
	{"\x89LZO\x00", "lzop", "lzop -dc"},
}

// MaxZstdWindow is the largest zstd window (back-reference distance)
// accepted, which bounds the decoder's memory: 128 MiB, what
// "zstd --long=27" writes; ordinary levels use at most 8 MiB.
const MaxZstdWindow = 128 << 20

// Decompress looks at the first bytes of r and returns a reader of its
// decompressed text when they are the magic bytes of gzip, bzip2, xz or
// zstd, or of r unchanged otherwise. UTF-16 text (with a byte-order mark,
// or ASCII text with a zero byte in every other position), compressed or
// not, is read as UTF-8 (Microsoft 365 and Exchange exports, PowerShell's
// Out-File); an odd final byte is the error ErrOddUTF16. Decompression errors, a truncated
// stream included, are returned by Read wrapped in a *DecompressError:
// the caller must treat the text read so far as incomplete. Close
// releases the decoder; it does not close r.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, Plain, err
	}
	var c Compression
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		c = Gzip
	case len(head) >= 4 && string(head[:3]) == "BZh" && head[3] >= '1' && head[3] <= '9':
		c = Bzip2
	case len(head) >= 6 && string(head) == "\xfd7zXZ\x00":
		c = XZ
	case len(head) >= 4 && string(head[:4]) == "\x28\xb5\x2f\xfd":
		c = Zstd
	default:
		for _, u := range unsupported {
			if len(head) >= len(u.magic) && string(head[:len(u.magic)]) == u.magic {
				return nil, u.c, &DecompressError{u.c, fmt.Errorf("%w: decompress it first (%s FILE | mimecastip scan)", ErrUnsupportedCompression, u.tool)}
			}
		}
		return io.NopCloser(maybeUTF16(br)), Plain, nil
	}
	var dr io.Reader
	closer := func() {}
	switch c {
	case Gzip:
		g, err := gzip.NewReader(br)
		if err != nil {
			return nil, c, &DecompressError{c, err}
		}
		dr, closer = g, func() { g.Close() }
	case Bzip2:
		dr = bzip2.NewReader(br)
	case XZ:
		x, err := xz.NewReader(br)
		if err != nil {
			return nil, c, &DecompressError{c, err}
		}
		dr = x
	case Zstd:
		z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(MaxZstdWindow))
		if err != nil {
			return nil, c, &DecompressError{c, err}
		}
		dr, closer = z, z.Close
	}
	d := &decompressed{r: dr, c: c, close: closer}
	return struct {
		io.Reader
		io.Closer
	}{maybeUTF16(bufio.NewReaderSize(d, 64<<10)), d}, c, nil
}

type decompressed struct {
	r     io.Reader
	c     Compression
	close func()
	err   error
}

func (d *decompressed) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		d.err = &DecompressError{d.c, err}
		return n, d.err
	}
	return n, err
}

func (d *decompressed) Close() error { d.close(); return nil }

// DecompressError is a corrupted or truncated compressed input.
type DecompressError struct {
	Format Compression
	Err    error
}

func (e *DecompressError) Error() string {
	msg := e.Err.Error()
	if errors.Is(e.Err, ErrUnsupportedCompression) {
		return fmt.Sprintf("compressed with %s: %s", e.Format, msg)
	}
	if errors.Is(e.Err, io.ErrUnexpectedEOF) {
		msg = "truncated (unexpected end of compressed data)"
	}
	return fmt.Sprintf("%s data is corrupted: %s", e.Format, msg)
}

// Unwrap returns the decoder's error.
func (e *DecompressError) Unwrap() error { return e.Err }
