// Package nulsdata is the NULS 2 binary serialization of chain data, as the
// Java modules write it (io.nuls.base.data and io.nuls.base.basic): block
// headers and their extension, blocks, transactions, coin data, hashes and
// address strings. The block module answers block headers and blocks as
// this serialization in hex; nuls-api answers them decoded, and so does the
// gateway's nuls-api profile with this package.
//
// Integers are little endian, byte strings are prefixed by a Bitcoin-style
// VarInt length, amounts are 32-byte little-endian unsigned integers, and a
// hash is SHA-256 applied twice. Parsing checks every bound: bytes that do
// not hold what they should give an error, never a panic, and reading
// stops at a length no input can have.
//
// # Concurrency
//
// The functions hold no state; parsed values belong to their caller, and
// share no memory with the input bytes.
package nulsdata
