package devnode

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Defaults of Config.
const (
	// DefaultListen is the Manager's address on a NULS node
	// (docs/protocol.md#default-endpoints).
	DefaultListen = "127.0.0.1:7771"
	// DefaultBlockInterval is the time between two blocks.
	DefaultBlockInterval = time.Second
	// DefaultChainID is the NULS testnet's chain ID: addresses read
	// "tNULSe…".
	DefaultChainID = 2
)

// Config configures a Node. The zero value gives a testnet-like node on
// 127.0.0.1:7771 making a block every second.
type Config struct {
	// Listen is the host:port of the main endpoint, which answers every
	// method and plays the Manager. Port 0 picks a free port (see
	// Node.URL). Default DefaultListen. The module endpoints listen on
	// free ports of the same host.
	Listen string
	// AdvertiseHost is the host put in the role table and in URLs.
	// Default: the host of Listen, or 127.0.0.1 when that is empty or a
	// wildcard address.
	AdvertiseHost string
	// BlockInterval is the time between two blocks. Default
	// DefaultBlockInterval (for 0). A negative value turns automatic blocks
	// off: blocks are then made only by Node.ProduceBlock, so that tests
	// control the height.
	BlockInterval time.Duration
	// ChainID is the chain the node runs, 1 to 65535. Default
	// DefaultChainID.
	ChainID int
	// Strict makes every endpoint drop, with no reply, each frame that
	// has a field a Java module does not know, as Java does
	// (docs/protocol.md#java): tests use it to prove a client sends only
	// the documented fields.
	Strict bool
	// Now is the clock of block and transaction times. Default time.Now.
	Now func() time.Time
	// Manager, when set, is the URL of a Manager (Nulstar's ServiceManager
	// on ws://127.0.0.1:7771, a Java Manager) that the node registers with
	// as the module "devnode", serving every chain method on an endpoint
	// of its own (also in ModuleURLs), so that the node can sit behind a
	// real Manager. Default: none.
	Manager string
	// Mode makes the main endpoint behave like a real peer rather than
	// like the specification: ModeJava answers no ListAPI, as a Java
	// module or the Java Manager; ModeConnector answers a module's
	// failure as success with {}, and a subscription once with no push
	// after, as Nulstar's Connector (docs/protocol.md#real-peers).
	// Default "": the specification. The module endpoints are not
	// affected.
	Mode string
	// Follow, when set, is the ws:// URL of another node's main endpoint:
	// this node then makes no block of its own but takes the leader's, with
	// their transactions, as a node of a real network does (Faults.Lag
	// keeps it behind), and sends the methods that make a transaction to
	// the leader. Both nodes must run the same ChainID. Several followers
	// of one leader are several nodes of one chain. Default: none.
	Follow string
}

// Modes of Config.Mode.
const (
	ModeJava      = "java"
	ModeConnector = "connector"
)

// withDefaults returns a copy of cfg with the defaults filled in, or why cfg
// is invalid.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return cfg, fmt.Errorf("devnode: Listen %q: %w", cfg.Listen, err)
	}
	if cfg.AdvertiseHost == "" {
		cfg.AdvertiseHost = host
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			cfg.AdvertiseHost = "127.0.0.1"
		}
	}
	if cfg.BlockInterval == 0 {
		cfg.BlockInterval = DefaultBlockInterval
	}
	if cfg.ChainID == 0 {
		cfg.ChainID = DefaultChainID
	}
	if cfg.ChainID < 1 || cfg.ChainID > 65535 {
		return cfg, errors.New("devnode: ChainID must be in [1,65535]")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Mode != "" && cfg.Mode != ModeJava && cfg.Mode != ModeConnector {
		return cfg, fmt.Errorf("devnode: Mode %q: want %s, %s or none", cfg.Mode, ModeJava, ModeConnector)
	}
	return cfg, nil
}
