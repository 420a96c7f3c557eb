//go:build !unix

package sdk

import (
	"fmt"
	"os"
)

// lockFile opens the lock file. Without flock the directory is not locked:
// on these systems the caller must make sure that one client at a time uses
// a queue directory.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sdk: queue: %w", err)
	}
	return f, nil
}
