package nulsdata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// ErrShort reports bytes that end before what they declare.
var ErrShort = errors.New("nulsdata: the bytes end too early")

// reader reads a serialization; the first error sticks, and every later
// read returns zero values.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = fmt.Errorf("%w: %d bytes wanted at offset %d of %d", ErrShort, n, r.off, len(r.b))
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8() uint8 {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if p := r.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// varInt reads a Bitcoin VarInt (io.nuls.core.basic.VarInt).
func (r *reader) varInt() uint64 {
	switch first := r.u8(); first {
	case 0xfd:
		return uint64(r.u16())
	case 0xfe:
		return uint64(r.u32())
	case 0xff:
		return r.u64()
	default:
		return uint64(first)
	}
}

// varBytes reads a length-prefixed byte string (readByLengthByte), copied.
func (r *reader) varBytes() []byte {
	n := r.varInt()
	if n > uint64(len(r.b)) {
		if r.err == nil {
			r.err = fmt.Errorf("%w: a length of %d at offset %d of %d", ErrShort, n, r.off, len(r.b))
		}
		return nil
	}
	if n == 0 {
		return nil
	}
	return append([]byte(nil), r.take(int(n))...) //nolint:gosec // G115: n <= len(r.b), checked above
}

func (r *reader) hash() (h Hash) {
	copy(h[:], r.take(HashLen))
	return h
}

// amount reads a 32-byte little-endian unsigned amount (readBigInteger).
func (r *reader) amount() *big.Int {
	p := r.take(32)
	if p == nil {
		return new(big.Int)
	}
	be := make([]byte, 32)
	for i := range p {
		be[31-i] = p[i]
	}
	if be[0]&0x80 != 0 && r.err == nil {
		// Java reads it as a signed number and refuses a negative one.
		r.err = errors.New("nulsdata: negative amount")
	}
	return new(big.Int).SetBytes(be)
}

// done fails unless every byte was read.
func (r *reader) done(what string) error {
	if r.err != nil {
		return fmt.Errorf("nulsdata: %s: %w", what, r.err)
	}
	if r.off != len(r.b) {
		return fmt.Errorf("nulsdata: %s: %d bytes left after it", what, len(r.b)-r.off)
	}
	return nil
}
