package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/mod/sumdb/note"

	"github.com/pedigree-project/pedigree/ledger"
	"github.com/pedigree-project/pedigree/ledger/witness"
	"github.com/pedigree-project/pedigree/services/node"
)

func newWitnessCommand(root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "witness",
		Short: "Run a C2SP tlog-witness that cosigns the checkpoints of the ledgers it follows",
		Long: `A witness keeps, for each ledger it follows, the last checkpoint it cosigned, and
cosigns a new one only if it extends that one (c2sp.org/tlog-witness). Nodes send it
their checkpoints (pedigree serve --witness URL=KEY) and serve them with its
cosignature, so that a regulator need not trust the node's key alone
(pedigree history --trust KEY --min-signatures K).`,
	}
	cmd.AddCommand(newWitnessServeCommand(root), newWitnessKeyCommand())
	return cmd
}

// witnessKeysDir is where the witness keeps its key under --data.
func witnessKeysDir(data string) string { return filepath.Join(data, "keys") }

func newWitnessKeyCommand() *cobra.Command {
	var data, name string
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Print the witness's cosignature verifier key (creating the key with --name on first use)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, vkey, err := witness.LoadOrCreateKey(witnessKeysDir(data), name)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), vkey)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "./pedigree-witness", "data directory of the witness (key, state)")
	cmd.Flags().StringVar(&name, "name", "", "the witness's name, e.g. witness.example.org/w1 (needed to create the key)")
	return cmd
}

func newWitnessServeCommand(root *rootOptions) *cobra.Command {
	var data, name, listen, logsFile, tlsCert, tlsKey string
	var logFlags []string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve POST /add-checkpoint for the ledgers named by --log and --logs-file",
		Long: `Serve the witness on --listen: POST /add-checkpoint (c2sp.org/tlog-witness). Each
--log is ORIGIN=VKEY, or a node's verifier key alone when its name is the origin (a
Pedigree node's is: DATA/keys/checkpoint.vkey); --logs-file holds one such line each.
The witness's key is created under --data on first start (give --name then); its
state, the last checkpoint cosigned per ledger, is a Pebble DB under --data.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := root.newLogger(os.Stderr)
			if err != nil {
				return err
			}
			logs, err := witnessLogs(logFlags, logsFile)
			if err != nil {
				return err
			}
			signer, vkey, err := witness.LoadOrCreateKey(witnessKeysDir(data), name)
			if err != nil {
				return err
			}
			store, err := witness.OpenStore(filepath.Join(data, "state"), logger)
			if err != nil {
				return err
			}
			defer store.Close()
			w, err := witness.New(witness.Config{Signer: signer, Logs: logs, Store: store, Logger: logger})
			if err != nil {
				return err
			}
			if (tlsCert == "") != (tlsKey == "") {
				return errors.New("--tls-cert and --tls-key go together")
			}
			lis, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			srv := &http.Server{Handler: witness.Handler(w), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
				WriteTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
			scheme := "http"
			if tlsCert != "" {
				scheme = "https"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Pedigree witness is serving.\n  URL:  %s://%s\n  Key:  %s\n  Logs: %d\n", scheme, lis.Addr(), vkey, len(logs))
			done := make(chan error, 1)
			go func() {
				if tlsCert != "" {
					done <- srv.ServeTLS(lis, tlsCert, tlsKey)
				} else {
					done <- srv.Serve(lis)
				}
			}()
			select {
			case err := <-done:
				return err
			case <-cmd.Context().Done():
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "./pedigree-witness", "data directory of the witness (key, state)")
	f.StringVar(&name, "name", "", "the witness's name, e.g. witness.example.org/w1 (needed to create the key)")
	f.StringVar(&listen, "listen", "127.0.0.1:7380", "HTTP listen address")
	f.StringArrayVar(&logFlags, "log", nil, "a ledger to witness: ORIGIN=VKEY, or VKEY when the key is named after the origin (repeatable)")
	f.StringVar(&logsFile, "logs-file", "", "file of ledgers to witness, one --log value a line (# comments)")
	f.StringVar(&tlsCert, "tls-cert", "", "certificate (PEM) to serve HTTPS with")
	f.StringVar(&tlsKey, "tls-key", "", "the key of --tls-cert (PEM)")
	return cmd
}

// witnessLogs gathers the logs of the --log flags and the logs file.
func witnessLogs(flags []string, file string) ([]witness.Log, error) {
	var logs []witness.Log
	at := map[string]int{}
	for _, s := range flags {
		l, err := witness.ParseLog(s)
		if err != nil {
			return nil, fmt.Errorf("--log: %w", err)
		}
		logs = witness.MergeLog(logs, at, l)
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--logs-file: %w", err)
		}
		more, err := witness.ParseLogs(data)
		if err != nil {
			return nil, fmt.Errorf("--logs-file %s: %w", file, err)
		}
		for _, l := range more {
			logs = witness.MergeLog(logs, at, l)
		}
	}
	if len(logs) == 0 {
		return nil, errors.New("no ledger to witness: give --log or --logs-file")
	}
	return logs, nil
}

// witnessFlags are the node's witness flags of pedigree serve.
type witnessFlags struct {
	witnesses  []string
	quorum     int
	policyFile string
}

func addWitnessFlags(f *pflag.FlagSet) *witnessFlags {
	w := &witnessFlags{}
	f.StringArrayVar(&w.witnesses, "witness", nil, "a witness that cosigns the checkpoints: URL=VKEY, its submission URL and cosignature key (repeatable)")
	f.IntVar(&w.quorum, "witness-quorum", -1, "how many --witness must cosign a checkpoint before it is served (default: a majority)")
	f.StringVar(&w.policyFile, "witness-policy", "", "witness policy file (witness NAME VKEY URL / group NAME K MEMBERS… / quorum NAME) instead of --witness")
	return w
}

// apply sets the node's witness policy from the flags.
func (w *witnessFlags) apply(cfg *node.Config) error {
	if w.policyFile != "" {
		if len(w.witnesses) > 0 || w.quorum >= 0 {
			return errors.New("--witness-policy: give either it or --witness and --witness-quorum")
		}
		p, err := os.ReadFile(w.policyFile)
		if err != nil {
			return fmt.Errorf("--witness-policy: %w", err)
		}
		cfg.WitnessPolicy = p
		return nil
	}
	eps := make([]witness.Endpoint, len(w.witnesses))
	for i, s := range w.witnesses {
		ep, err := witness.ParseEndpoint(s)
		if err != nil {
			return fmt.Errorf("--witness: %w", err)
		}
		eps[i] = ep
	}
	quorum := w.quorum
	if quorum < 0 {
		quorum = len(eps)/2 + min(len(eps), 1)
	}
	p, err := witness.PolicyOf(eps, quorum)
	if err != nil {
		return fmt.Errorf("--witness-quorum: %w", err)
	}
	cfg.WitnessPolicy = p
	return nil
}

// trustFlags are a verifying command's --trust and --min-signatures.
type trustFlags struct {
	keys []string
	min  int
}

func addTrustFlags(cmd *cobra.Command) *trustFlags {
	t := &trustFlags{}
	cmd.Flags().StringArrayVar(&t.keys, "trust", nil, "a verifier key to trust: the node's checkpoint key or a witness's cosignature key (repeatable)")
	cmd.Flags().IntVar(&t.min, "min-signatures", 0, "how many trusted keys must have signed the checkpoint (default 1 with --trust)")
	return t
}

// active reports whether the flags ask for the multi-signature check.
func (t *trustFlags) active() bool { return len(t.keys) > 0 || t.min > 0 }

// verify checks that the checkpoint note carries valid signatures from at
// least --min-signatures of the --trust keys (and pinned, if given).
func (t *trustFlags) verify(msg []byte, pinned string) (ledger.Checkpoint, []note.Signature, error) {
	if t.min < 0 {
		return ledger.Checkpoint{}, nil, errors.New("--min-signatures: must be positive")
	}
	keys := t.keys
	if pinned != "" {
		keys = append(keys[:len(keys):len(keys)], pinned)
	}
	if len(keys) == 0 {
		return ledger.Checkpoint{}, nil, errors.New("--min-signatures: give the keys to trust with --trust (the node's checkpoint key and its witnesses' keys)")
	}
	vs := make([]note.Verifier, len(keys))
	for i, k := range keys {
		v, err := witness.NewTrustedVerifier(strings.TrimSpace(k))
		if err != nil {
			return ledger.Checkpoint{}, nil, fmt.Errorf("--trust: %w", err)
		}
		vs[i] = v
	}
	want := max(t.min, 1)
	cp, sigs, err := witness.VerifyCheckpoint(msg, vs, want)
	var few *witness.TooFewSignaturesError
	if errors.As(err, &few) {
		return ledger.Checkpoint{}, nil, fmt.Errorf("checkpoint does NOT meet --min-signatures %d: %w", want, err)
	}
	if err != nil {
		return ledger.Checkpoint{}, nil, fmt.Errorf("the checkpoint's signatures do NOT verify: %w", err)
	}
	return cp, sigs, nil
}

// signerNames lists who signed, for the report.
func signerNames(sigs []note.Signature) string {
	names := make([]string, len(sigs))
	for i, s := range sigs {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}
