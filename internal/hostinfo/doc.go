// Package hostinfo reads what the load tests report about the machine they
// ran on, from /proc: the CPU model and the load averages.
//
// Its functions are safe for concurrent use; they read a file each call.
package hostinfo
