package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"time"
)

// modulePath is the module of the binaries built here.
const modulePath = "github.com/nuls-gateway/nuls-gateway"

// buildBinaries builds the named commands of this module (such as
// "gateway") into dir with go build, as a release is built: no race
// detector, no test hooks. It needs the module's source, so it runs from a
// directory inside the module.
func buildBinaries(ctx context.Context, dir string, logger *slog.Logger, names ...string) (map[string]string, error) {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	out := map[string]string{}
	for _, n := range names {
		args = append(args, modulePath+"/cmd/"+n)
		out[n] = filepath.Join(dir, n)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %v: %w: %s (run from inside the module, or give --gateway-bin and --devnode-bin)", args, err, stderr.Bytes())
	}
	logger.Info("built", slog.Any("commands", names), slog.String("dir", dir), slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	return out, nil
}
