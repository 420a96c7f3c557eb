package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/services/node"
)

// maxBackupError bounds the error body of a refused backup request.
const maxBackupError = 4096

func newBackupCommand(root *rootOptions) *cobra.Command {
	var dataDir, operator, tokenFile, out, name string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write a backup archive of a node (serving: --operator; stopped: --data)",
		Long: `Write a backup archive of a node to --out: a tar of a Pebble checkpoint (the ledger,
the state and the applied stream sequence, consistent with each other), the node's keys
(DATA/keys) and its admin token, with a manifest (format, node name, ledger size, root hash,
applied stream sequence, creation time, SHA-256 of every member).

THE ARCHIVE HOLDS THE NODE'S PRIVATE KEYS AND ADMIN TOKEN: it is written with mode 0600;
keep it encrypted and access-controlled like the data directory itself.

A serving node holds its Pebble lock, so it takes the backup itself: --operator names its
operator listener (host:port, the --metrics address of serve; never the public port) and
--token-file the file holding the admin token (DATA/admin.token). A stopped node's data is
read directly with --data. The archive is verified after it is written (every member's
hash, the ledger audited and its root compared with the manifest) before it is renamed to
--out, which must not exist. A serving node's backup is then recorded by the node as the
newest verified one: with --stream-retention after-backup, the stream may drop what it
holds once every node has applied it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (dataDir == "") == (operator == "") {
				return errors.New("backup: give exactly one of --data (a stopped node) and --operator (a serving node)")
			}
			if out == "" {
				return errors.New("backup: --out: required")
			}
			logger, err := root.newLogger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			m, err := writeBackup(cmd.Context(), out, func(w io.Writer) error {
				if operator != "" {
					return fetchBackup(cmd.Context(), operator, tokenFile, w)
				}
				_, err := node.BackupStopped(cmd.Context(), dataDir, name, w, logger)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup of %s written to %s: ledger size %d, root %s, applied stream sequence %d, %d members\n",
				m.Node, out, m.LedgerSize, m.RootHash, m.AppliedSeq, len(m.Members))
			if operator == "" {
				return nil
			}
			rec, err := recordBackup(cmd.Context(), operator, tokenFile, m)
			if err != nil {
				return fmt.Errorf("the backup is written and verified, but the node did not record it (stream retention does not count it): %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded for stream retention: the newest verified backup holds up to stream sequence %d\n", rec.AppliedSeq)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data", "", "data directory of a stopped node")
	f.StringVar(&name, "name", "", "with --data: the node name for the manifest (default: node-<key id>, as the node names itself)")
	f.StringVar(&operator, "operator", "", "operator listener (host:port) of a serving node")
	f.StringVar(&tokenFile, "token-file", "./pedigree-data/"+node.AdminTokenFile, "with --operator: file holding the admin token")
	f.StringVar(&out, "out", "", "archive to write (must not exist; mode 0600)")
	return cmd
}

// writeBackup writes the archive fill produces to a temporary file next
// to out (mode 0600), verifies it and renames it to out, refusing an out
// that exists.
func writeBackup(ctx context.Context, out string, fill func(w io.Writer) error) (m node.BackupManifest, err error) {
	if _, err := os.Lstat(out); err == nil {
		return m, fmt.Errorf("backup: --out %s: exists already", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return m, fmt.Errorf("backup: --out: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return m, fmt.Errorf("backup: --out: %w", err)
	}
	if err := fill(tmp); err != nil {
		tmp.Close()
		return m, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return m, fmt.Errorf("backup: --out: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return m, fmt.Errorf("backup: --out: %w", err)
	}
	m, err = node.VerifyBackup(ctx, tmp, filepath.Dir(out))
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("backup: --out: %w", cerr)
	}
	if err != nil {
		return m, fmt.Errorf("backup: the archive written fails its verification: %w", err)
	}
	if err := os.Link(tmp.Name(), out); err != nil { // refuses an out created meanwhile
		return m, fmt.Errorf("backup: --out: %w", err)
	}
	return m, os.Remove(tmp.Name())
}

// operatorRequest sends the admin's request to the operator listener at
// addr and returns the response, refusing any status but 200 with the
// node's message.
func operatorRequest(ctx context.Context, addr, tokenFile, path string, body io.Reader) (*http.Response, error) {
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("backup: --token-file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return nil, fmt.Errorf("backup: --token-file %s: empty", tokenFile)
	}
	url := addr
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		url = "http://" + url
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(url, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("backup: --operator %q: %w", addr, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxBackupError))
		return nil, fmt.Errorf("backup: the node answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// recordBackup has the node at the operator listener addr record the
// verified backup m.
func recordBackup(ctx context.Context, addr, tokenFile string, m node.BackupManifest) (node.VerifiedBackup, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return node.VerifiedBackup{}, err
	}
	resp, err := operatorRequest(ctx, addr, tokenFile, node.BackupVerifiedPath, bytes.NewReader(body))
	if err != nil {
		return node.VerifiedBackup{}, err
	}
	defer resp.Body.Close()
	var rec node.VerifiedBackup
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBackupError)).Decode(&rec); err != nil {
		return node.VerifiedBackup{}, fmt.Errorf("backup: the node's record: %w", err)
	}
	return rec, nil
}

// fetchBackup streams the backup of the node whose operator listener is
// at addr into w.
func fetchBackup(ctx context.Context, addr, tokenFile string, w io.Writer) error {
	resp, err := operatorRequest(ctx, addr, tokenFile, node.BackupPath, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("backup: receive the archive: %w", err)
	}
	return nil
}

func newRestoreCommand() *cobra.Command {
	var from, dataDir string
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Place a backup archive into a new data directory",
		Long: `Restore the backup archive --from into --data, which must be absent or empty. Every
member is checked against the manifest's SHA-256 (a member that differs is named), the
archive must hold exactly the members listed, and the ledger is audited and its size and
root compared with the manifest's, all before anything is placed in --data.

Start the node on --data against the same stream (the cluster's JetStream, or the old node's
DATA/nats copied alongside): it consumes the stream from the applied sequence the backup
recorded and catches up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || dataDir == "" {
				return errors.New("restore: --from and --data: required")
			}
			f, err := os.Open(from)
			if err != nil {
				return fmt.Errorf("restore: --from: %w", err)
			}
			defer f.Close()
			m, err := node.Restore(cmd.Context(), f, dataDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s: ledger size %d, root %s, applied stream sequence %d (taken %s); start the node on it to catch up from the stream\n",
				m.Node, dataDir, m.LedgerSize, m.RootHash, m.AppliedSeq, m.Created.Format("2006-01-02T15:04:05Z"))
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "backup archive to restore")
	cmd.Flags().StringVar(&dataDir, "data", "", "new data directory (absent or empty)")
	return cmd
}
