// Package doctest runs the shell examples of the project's Markdown
// documents, so that a documented command that stops working fails the
// test command instead of the reader.
//
// Parse reads a document's fenced blocks. A block whose info string is sh,
// bash or shell is an example: Run executes it, unless the HTML comment on
// the line before its fence says otherwise:
//
//	<!-- doctest: skip: needs Docker -->      not run; the reason is required
//	<!-- doctest: status 401 -->              every curl answers 401
//	<!-- doctest: contains "value" -->        the output contains the text
//	<!-- doctest: stream 3s -->               runs 3s, then is stopped: success
//	<!-- doctest: timeout 2m -->              may run that long (default 60s)
//
// A line of prose that gives PathLine in backticks is run as a block of its
// own: the sentence at the top of a page that tells the reader to put the
// built programs on PATH is what puts them there in the test. The programs
// are in the bin/ folder of the scratch directory (Config.Programs), and
// only there: a document that runs gateway, devnode or loadtest without
// that line before finds, first on PATH, a stand-in that fails saying so;
// CheckPath reports the same of the skipped blocks.
//
// Several directives may share one comment, separated by ";". Every curl of
// a run block must answer a status below 400 unless a status directive says
// which one: a wrapper named curl, first on the PATH of the blocks, reports
// each transfer's status. Untagged blocks that look like commands, and curls
// that send a body without saying it is JSON, are reported by Lint, which
// also covers skipped blocks.
//
// A Session runs one document's blocks in order in a scratch directory,
// each with bash -e; exported variables and the working directory carry
// from one block to the next. Addresses in the blocks are rewritten before
// they run (Rewrites): the documented gateway address to the one under test,
// the other documented ports to free ones, the documented Redis to the
// test's.
//
// Concurrency: a Session is used by one goroutine. Close kills the process
// group of every block it ran, background jobs included.
package doctest
