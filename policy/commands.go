package policy

import "strings"

// protocolCommands are the module protocol's own commands, the Managers'
// (Nulstar's ServiceManager and controller, the Java kernel) and the Java
// modules' handshakes: never callable over HTTP, whatever a listing says. A
// stranger calling RegisterAPI through the gateway could take over module
// roles; the others drive the module network itself. Keys are lowercase
// (older Nulstar builds answer listapi and forwardmessage) and compared
// with the name's last dotted part (Nulstar lists "<Domain>.<Method>").
var protocolCommands = setOf(
	// The protocol's messages, in case a peer takes them for methods.
	"negotiateconnection", "negotiateconnectionresponse", "request", "response", "unsubscribe", "ack",
	"notification", "requestonly", "registercompoundmethod", "unregistercompoundmethod",
	// The Managers' commands.
	"registerapi", "getconsolidatedapi", "listapi", "forwardmessage",
	"startmodule", "stopmodule", "startallmodules", "stopallmodules", "scanmanagedmodules", "shutdownsystem",
	"checkupdates",
	// The Java modules' handshakes with one another.
	"registermoduledependencies", "listenerdependenciesready", "connectready", "paramtestcmd",
)

// kernelCommands are the RPC-TOOL kernel commands every module answers
// (D17): they stop a module or change its configuration, so they are
// callable only with the admin scope, and only when the operator allowed
// them (Config.AllowKernelCommands). With them are the network module's
// commands that change a node's peers or send to them, which a live node
// lists with the public scope (protocol vectors, ListAPI): a stranger must
// not disconnect the node or broadcast through it.
var kernelCommands = setOf("status", "shutdown", "terminate", "confget", "confset", "confreset",
	"nw_activecross", "nw_addnodes", "nw_broadcast", "nw_createnodegroup", "nw_delnodegroup", "nw_delnodes",
	"nw_protocolregister", "nw_reconnect", "nw_sendpeersmsg", "nw_updatenodeinfo")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// BareName is a method name without its domain, lowercase: Nulstar lists
// "<Domain>.<Method>", and older builds answer in lowercase.
func BareName(method string) string {
	if i := strings.LastIndexByte(method, '.'); i >= 0 {
		method = method[i+1:]
	}
	return strings.ToLower(method)
}

// CommandKind reports whether method (a valid method name: ASCII, at most
// 128 bytes) is a command of the module protocol or of the kernel, in any
// letter case, with or without a domain. It is BareName's lookup without a
// string for each call.
func CommandKind(method string) (protocol, kernel bool) {
	if i := strings.LastIndexByte(method, '.'); i >= 0 {
		method = method[i+1:]
	}
	var buf [128]byte
	if len(method) > len(buf) {
		return false, false // longer than any command
	}
	lower := buf[:len(method)]
	for i := range len(method) {
		c := method[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return protocolCommands[string(lower)], kernelCommands[string(lower)]
}
