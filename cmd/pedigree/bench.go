package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pedigree-project/pedigree/bench"
	"github.com/pedigree-project/pedigree/scanners/sdk"
)

func newBenchCommand(root *rootOptions) *cobra.Command {
	cfg := bench.DefaultConfig()
	var jsonOut string
	var nodeKeys []string
	long := &longRunFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a server against the design's figures: ingest, verify, dispense, commissioning, audit, proofs, disk, memory",
		Long: `Measure Pedigree in one run. With no flags it starts an embedded server on a
temporary directory (removed afterwards) and takes about two minutes; --duration sizes
the timed phases (each gets a fixed share of it); --phases runs only some of them
after commissioning. In order:

  commissioning   --commission serials through RegistryService.CommissionSerials
  raw publish     signed single-pack dispense envelopes into a scratch JetStream stream
  ingest          the same envelopes on pedigree.scan.<GLN>, until the ledger has
                  committed them with the rules applied; then again with captures of
                  100 events under one signature
  verify          VerifyPack at --verify-rate requests/s on a fixed schedule (latency
                  from the scheduled send time) while --verify-ingest-rate dispenses
                  a second are ingested
  dispense        DispensePack, synchronous through the stream, from 4 terminals
  proofs          inclusion and consistency proofs through LedgerService, and a
                  health check as the gRPC round trip they include
  audit           ledger verify on the stopped server's data; disk bytes per event;
                  peak RSS

With --server (plus --grpc, --nats, an admin --token and the node's public key,
--node-key DATA/keys/node.pub, which outcomes must be signed with; in a cluster every
node's, since every node publishes outcomes, and an ingest phase ends at the first node's) it
measures a running server instead; the audit and the disk figures then need its data directory
and are left out, the peak RSS needs its metrics listener (--metrics), and the raw
publish figures the node's NATS key (--nats-admin-key DATA/keys/nats.key). Its rate
limits must allow the run (one pharmacy verifies at --verify-rate and publishes at the
ingest rate): start it with --read-rate 0 --write-rate 0 --public-rate 0
--bulk-per-party 0 and a --nats-publish-rate above the ingest rate; the embedded
server has them off. The run registers its own manufacturer, pharmacies (each
publishing with its own key), product and batch (GS1 demonstration range 952), so it
can share a server with other data.

With --scale STEPS (e.g. 1M,10M,30M,100M, or "default") it grows a node's data in
steps of EPCIS events (a market: commissioning, pallets packed and shipped, received,
unpacked, orders shipped and received, packs verified and dispensed, as signed captures
straight to NATS) and measures at each step every cost beside the limit taken in the
same step; its node runs as a child process (pedigree serve), so that it can be killed
and restarted. With --soak DURATION it fills an embedded node to --soak-size events and
runs a steady mixed load, reporting each --soak-bucket and whether each series drifts.
Both write --json=FILE and --html FILE (one page, inline SVG charts).

Prints a table with the design's targets, or JSON with --json. Progress goes to
standard error.`,
		Example: `  pedigree bench
  pedigree bench --duration 10m --json > bench.json
  pedigree bench --phases verify --commission 200000
  pedigree bench --scale 1M,10M,30M,100M --json=scale.json --html scale.html
  pedigree bench --soak 30m --json=soak.json --html soak.html
  pedigree bench --server 127.0.0.1:8080 --grpc 127.0.0.1:7070 --nats nats://127.0.0.1:4222 --metrics 127.0.0.1:9090 \
      --token "$(cat pedigree-data/admin.token)" --node-key pedigree-data/keys/node.pub --nats-admin-key pedigree-data/keys/nats.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := root.newLogger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if t := &cfg.Target; t.HTTPAddr == "" && (t.GRPCAddr != "" || t.NATSURL != "" || t.Token != "" || t.MetricsAddr != "" ||
				len(nodeKeys) > 0 || t.NATSAdminKeyFile != "") {
				// Often set in the environment for the other commands.
				fmt.Fprintln(cmd.ErrOrStderr(), "bench: no --server: --grpc, --nats, --token, --metrics, --node-key and --nats-admin-key are ignored; starting an embedded server")
				t.GRPCAddr, t.NATSURL, t.Token, t.MetricsAddr, t.NATSAdminKeyFile, nodeKeys = "", "", "", "", "", nil
			}
			if len(nodeKeys) > 0 {
				if cfg.Target.NodeKeys, err = sdk.ReadNodeKeys(nodeKeys...); err != nil {
					return fmt.Errorf("--node-key: %w", err)
				}
			}
			cfg.Logger, cfg.Progress = logger, cmd.ErrOrStderr()
			if long.scale != "" || long.soak > 0 || long.html != "" {
				return long.run(cmd, cfg, jsonOut)
			}
			res, err := bench.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), jsonOut, res.WriteTable, res.WriteJSON)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "wall time the timed phases are sized for")
	f.IntVar(&cfg.VerifyRate, "verify-rate", cfg.VerifyRate, "verify requests per second, open loop")
	f.IntVar(&cfg.VerifyIngestRate, "verify-ingest-rate", cfg.VerifyIngestRate, "background ingest during the verify phase, events/s (0: as fast as the ledger takes them)")
	f.StringSliceVar(&cfg.Phases, "phases", nil, "phases to run after commissioning, comma-separated: "+strings.Join(bench.AllPhases(), ", ")+" (empty: all)")
	f.IntVar(&cfg.Commission, "commission", 0, "serials to commission (0: 1,000,000 per 2 minutes of --duration)")
	f.StringVar(&cfg.Target.HTTPAddr, "server", "", "HTTP address of a running server to measure (empty: start an embedded one)")
	f.StringVar(&cfg.Target.GRPCAddr, "grpc", "", "with --server: its gRPC address")
	f.StringVar(&cfg.Target.NATSURL, "nats", "", "with --server: the NATS URL its ledger consumes from")
	f.StringVar(&cfg.Target.Token, "token", "", "with --server: an admin API token")
	f.StringVar(&cfg.Target.MetricsAddr, "metrics", "", "with --server: its metrics listener (host:port), for its peak RSS")
	f.StringSliceVar(&nodeKeys, "node-key", nil, "with --server: its node public key file (DATA/keys/node.pub), and in a cluster every node's (comma-separated or repeated): outcomes must be signed with one of them")
	f.StringVar(&cfg.Target.NATSAdminKeyFile, "nats-admin-key", "", "with --server: its NATS key file (DATA/keys/nats.key), for the raw publish figures")
	f.StringVar(&jsonOut, "json", "", "print JSON instead of a table; with --scale or --soak, --json=FILE writes it to FILE")
	f.Lookup("json").NoOptDefVal = "-"
	long.addFlags(f)
	return cmd
}
