// Package amounts renders the big integers of NULS answers so that no
// client loses a digit. NULS modules answer amounts (BigInteger: balances,
// deposits, asset supplies) as JSON numbers; JavaScript's JSON.parse reads
// a number past 2^53 as the nearest double, silently: NULS's total supply
// in its smallest unit, 10^16, is already past it, a token of 18 decimals
// far past it. Stringify rewrites the numbers at the places a catalog type
// declares BigInteger as strings of the same digits, and leaves everything
// else, key order and spacing of the rest included, as it was.
//
// Package amounts has no state and is safe for concurrent use.
package amounts
